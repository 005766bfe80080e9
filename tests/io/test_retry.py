"""Which failures are retried, and that retries are bounded."""

import errno

import pytest

pytest.importorskip("botocore")
from botocore.exceptions import (  # noqa: E402
    ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError)

from lakehouse.io.retry import RetryPolicy, is_store_error, is_transient, with_retries  # noqa: E402


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutObject")


def translated(cause: BaseException) -> OSError:
    """What s3fs raises: an OSError whose __cause__ is the botocore error."""
    e = OSError(errno.EBUSY, "store said no")
    e.__cause__ = cause
    return e


@pytest.mark.parametrize("exc", [
    client_error("SlowDown", 503), client_error("InternalError", 500), client_error("Whatever", 502),
    client_error("ThrottlingException", 400), client_error("TooManyRequestsException", 429),
    translated(client_error("SlowDown", 503)), translated(client_error("ServiceUnavailable", 503)),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), TimeoutError("timed out"), ConnectionResetError(),
    OSError("When writing: AWS Error SLOW_DOWN during PutObject operation: Please reduce your request rate."),
])
def test_transient(exc):
    assert is_transient(exc)
    assert is_store_error(exc)


@pytest.mark.parametrize("exc", [
    client_error("AccessDenied", 403), client_error("NoSuchBucket", 404), client_error("PreconditionFailed", 412),
    translated(client_error("AccessDenied", 403)), FileNotFoundError("x"), FileExistsError("x"), PermissionError("x"),
    # Numbers in a path are not status codes: string matching once retried these.
    OSError("reading _lakehouse/log/00000000000000000503.json failed: bad checksum"),
    ValueError("500 internal error"),
])
def test_not_transient(exc):
    assert not is_transient(exc)


def test_retries_are_bounded_and_jittered():
    policy = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.004)
    calls = []

    def always_throttled():
        calls.append(1)
        raise translated(client_error("SlowDown", 503))
    with pytest.raises(OSError):
        with_retries(always_throttled, policy)
    assert len(calls) == 4
    assert all(0 <= policy.delay(a) <= 0.004 for a in range(1, 30))


def test_success_after_transient_failures():
    outcomes = iter([TimeoutError(), translated(client_error("SlowDown", 503)), "ok"])

    def flaky():
        o = next(outcomes)
        if isinstance(o, BaseException):
            raise o
        return o
    assert with_retries(flaky, RetryPolicy(base_delay=0.001)) == "ok"


def test_definite_failures_are_not_retried():
    calls = []

    def denied():
        calls.append(1)
        raise translated(client_error("AccessDenied", 403))
    with pytest.raises(OSError):
        with_retries(denied, RetryPolicy())
    assert len(calls) == 1
