"""S3 storage options: both spellings, the AWS environment, and what never gets imported."""

import subprocess
import sys
import textwrap

import pytest

import lakehouse
from lakehouse.io import s3

ENV = {"AWS_ACCESS_KEY_ID": "env-key", "AWS_SECRET_ACCESS_KEY": "env-secret-value",
       "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "eu-west-3"}


def test_environment_is_read_like_botocore():
    c = s3.resolve({}, ENV)
    assert (c.key, c.secret, c.endpoint_url, c.region) == ("env-key", "env-secret-value", "http://127.0.0.1:9",
                                                           "eu-west-3")
    kw = c.s3fs_kwargs
    assert kw["endpoint_url"] == "http://127.0.0.1:9" and kw["client_kwargs"]["region_name"] == "eu-west-3"
    assert kw["use_listings_cache"] is False
    assert "env-secret-value" in c.secrets


def test_endpoint_precedence():
    assert s3.resolve({}, {**ENV, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:10"}).endpoint_url == "http://127.0.0.1:10"
    assert s3.resolve({}, {**ENV, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}).endpoint_url is None
    assert s3.resolve({"endpoint_url": "http://127.0.0.1:11"}, ENV).endpoint_url == "http://127.0.0.1:11"


@pytest.mark.parametrize("options", [
    {"key": "k", "secret": "s3cret", "token": "t0ken", "endpoint_url": "http://127.0.0.1:5", "region": "us-west-2"},
    {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_SESSION_TOKEN": "t0ken",
     "AWS_ENDPOINT_URL": "http://127.0.0.1:5", "AWS_REGION": "us-west-2", "AWS_ALLOW_HTTP": "true"},
    {"aws_access_key_id": "k", "aws_secret_access_key": "s3cret", "aws_session_token": "t0ken",
     "aws_endpoint_url": "http://127.0.0.1:5", "aws_region": "us-west-2"},
])
def test_both_spellings_mean_the_same(options):
    c = s3.resolve(options, ENV)
    assert (c.key, c.secret, c.token, c.endpoint_url, c.region) == ("k", "s3cret", "t0ken", "http://127.0.0.1:5",
                                                                    "us-west-2")
    assert {"s3cret", "t0ken"} <= set(c.secrets)
    assert "s3cret" not in repr(c) and "t0ken" not in repr(c)


def test_deltalake_commit_options_map_to_ours():
    assert s3.resolve({"AWS_CONDITIONAL_PUT": "etag"}, {}).own == {"conditional_put": True}
    assert s3.resolve({"aws_conditional_put": "disabled"}, {}).own == {"conditional_put": False}
    assert s3.resolve({"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}, {}).own == {"unsafe_single_writer": True}


def test_bad_options_are_refused_without_echoing_values():
    with pytest.raises(lakehouse.StorageError, match="AWS_S3_LOCKING_PROVIDER") as e:
        s3.resolve({"AWS_S3_LOCKING_PROVIDER": "dynamodb-secret-ish"}, {})
    assert "dynamodb-secret-ish" not in str(e.value)
    with pytest.raises(lakehouse.StorageError, match="twice"):
        s3.resolve({"secret": "a-secret", "AWS_SECRET_ACCESS_KEY": "b-secret"}, {})


def test_profile_falls_back_to_wrapping_s3fs_for_data():
    c = s3.resolve({"profile": "dev"}, ENV)
    assert c.key is None and not c.native_arrow  # an explicit profile beats env credentials, as in botocore
    assert s3.arrow_filesystem(c, "bucket", max_attempts=3) is None


def test_redact():
    text = "s3://AKID:topsecret@bucket/x?X-Amz-Signature=abcdef&X-Amz-Credential=AKID%2F Authorization: AWS4 sig"
    out = s3.redact(text, ("topsecret",))
    assert "topsecret" not in out and "abcdef" not in out and "AWS4 sig" not in out


def test_s3fs_is_not_imported_for_other_stores(tmp_path):
    code = textwrap.dedent(f"""
        import sys, pyarrow as pa, lakehouse
        t = lakehouse.create_table({str(tmp_path / "t")!r}, schema=pa.schema([("x", pa.int64())]))
        t.append(pa.table({{"x": [1]}}))
        t.to_arrow()
        bad = [m for m in ("s3fs", "botocore", "aiobotocore", "boto3") if m in sys.modules]
        assert not bad, bad
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
