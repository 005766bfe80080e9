"""The conditional PUT against what S3-compatible stores and old clients really answer."""

from types import SimpleNamespace

import pytest

pytest.importorskip("botocore")
from botocore.exceptions import ClientError  # noqa: E402

import lakehouse  # noqa: E402
from lakehouse.io.commit_primitives import ConditionalPut, parse_conditional_put  # noqa: E402


class FakeS3:
    """Just enough of s3fs: a botocore service model, and a pipe_file that fails as told."""

    protocol = ("s3", "s3a")

    def __init__(self, *, members=("Bucket", "Key", "Body", "IfNoneMatch"), error=None):
        shape = SimpleNamespace(members={m: None for m in members})
        model = SimpleNamespace(operation_model=lambda name: SimpleNamespace(input_shape=shape))
        self.s3 = SimpleNamespace(meta=SimpleNamespace(service_model=model))
        self.error = error
        self.puts = []

    def pipe_file(self, path, data, mode="overwrite", **kwargs):
        self.puts.append((path, mode, kwargs))
        if self.error is not None:
            raise self.error


def s3fs_error(code: str, status: int, condition: str | None = None) -> OSError:
    error = {"Code": code, "Message": "m"}
    if condition:
        error["Condition"] = condition
    e = OSError(5, "translated by s3fs")
    e.__cause__ = ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")
    return e


def test_one_conditional_put():
    fs = FakeS3()
    assert ConditionalPut()(fs, "b/k", b"x")
    [(path, mode, kwargs)] = fs.puts
    assert mode == "create" and kwargs["chunksize"] >= 2**32  # never a multipart upload


def test_412_without_a_named_condition_means_exists():
    assert not ConditionalPut()(FakeS3(error=s3fs_error("PreconditionFailed", 412)), "b/k", b"x")


def test_store_rejecting_the_header_is_refused():
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="rejects conditional writes"):
        ConditionalPut()(FakeS3(error=s3fs_error("NotImplemented", 501)), "b/k", b"x")


def test_other_failures_propagate_for_the_retry_layer():
    with pytest.raises(OSError):
        ConditionalPut()(FakeS3(error=s3fs_error("SlowDown", 503)), "b/k", b"x")


def test_botocore_without_if_none_match_is_refused():
    """s3fs drops parameters its botocore does not know: the PUT would silently overwrite."""
    fs = FakeS3(members=("Bucket", "Key", "Body"))
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="botocore>=1.35.2"):
        ConditionalPut()(fs, "b/k", b"x")
    assert fs.puts == []


def test_entries_beyond_one_put_are_refused():
    class Huge(bytes):
        def __len__(self):
            return 5 * 2**30
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="one conditional PUT"):
        ConditionalPut()(FakeS3(), "b/k", Huge())


@pytest.mark.parametrize("value, expected", [(True, True), ("etag", True), ("TRUE", True), (False, False),
                                             ("disabled", False), ("false", False)])
def test_parse_conditional_put(value, expected):
    assert parse_conditional_put(value) is expected


def test_parse_conditional_put_refuses_lock_providers():
    with pytest.raises(lakehouse.AtomicCommitUnsupportedError, match="no lock service"):
        parse_conditional_put("dynamo:table")
