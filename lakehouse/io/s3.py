"""S3 and S3-compatible stores: storage options, the standard AWS environment, two clients.

The log (small JSON entries, the conditional PUT) goes through s3fs; data files go through
pyarrow's native S3 client, configured from the same options, which reads and writes Parquet
in parallel outside the GIL (spec/format.md, "Layout" and "Commits"). Nothing here imports
s3fs, botocore or pyarrow's S3 module until an s3:// URI is opened.

Storage options, with the deltalake / object_store spellings users bring from deltalake
(the AWS_* keys are case-insensitive):

| lakehouse (s3fs)  | deltalake / object_store               | standard environment            |
|-------------------|----------------------------------------|---------------------------------|
| endpoint_url      | AWS_ENDPOINT_URL, AWS_ENDPOINT         | AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL |
| key               | AWS_ACCESS_KEY_ID                      | AWS_ACCESS_KEY_ID               |
| secret            | AWS_SECRET_ACCESS_KEY                  | AWS_SECRET_ACCESS_KEY           |
| token             | AWS_SESSION_TOKEN, AWS_TOKEN           | AWS_SESSION_TOKEN               |
| region            | AWS_REGION, AWS_DEFAULT_REGION         | AWS_REGION, AWS_DEFAULT_REGION  |
| profile           | AWS_PROFILE                            | AWS_PROFILE                     |
| anon              | AWS_SKIP_SIGNATURE                     |                                 |
| conditional_put   | AWS_CONDITIONAL_PUT ("etag"; "disabled" = False) |                       |
| unsafe_single_writer | AWS_S3_ALLOW_UNSAFE_RENAME          |                                 |

AWS_ALLOW_HTTP is accepted and ignored (an http:// endpoint is simply used). Anything not in
the table is handed to s3fs.S3FileSystem as is (client_kwargs, config_kwargs, requester_pays…).
Credentials missing from the options come from the standard chain (environment, ~/.aws files,
instance roles) in both clients. Secret values are collected so every error can be redacted.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import StorageError
from .commit_primitives import parse_conditional_put
from .options import env_flag, truthy
from .redact import redact

__all__ = ["S3Config", "resolve", "filesystem", "arrow_filesystem", "list_names", "redact"]

# object_store / deltalake spelling -> our option name
_ALIASES = {
    "aws_endpoint_url": "endpoint_url", "aws_endpoint": "endpoint_url", "endpoint": "endpoint_url",
    "aws_access_key_id": "key", "access_key_id": "key",
    "aws_secret_access_key": "secret", "secret_access_key": "secret",
    "aws_session_token": "token", "aws_token": "token", "session_token": "token",
    "aws_region": "region", "aws_default_region": "region", "region_name": "region",
    "aws_profile": "profile",
    "aws_skip_signature": "anon",
    "aws_conditional_put": "conditional_put",
    "aws_s3_allow_unsafe_rename": "unsafe_single_writer",
}
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 60.0  # seconds, both clients (botocore's defaults are 60 and 60)
_IGNORED = {"aws_allow_http", "allow_http"}
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True, slots=True)
class S3Config:
    """How to reach one S3 store: what s3fs gets, and what pyarrow's client needs besides."""

    s3fs_kwargs: Mapping[str, Any] = field(repr=False)
    own: Mapping[str, Any]                 # lakehouse's own options given under S3 spellings
    endpoint_url: str | None
    region: str | None
    key: str | None
    secret: str | None = field(repr=False)
    token: str | None = field(repr=False)
    anon: bool
    profile: str | None
    native_arrow: bool = True              # pyarrow's client can be configured to match s3fs's
    secrets: tuple[str, ...] = field(repr=False, default=())


def resolve(options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> S3Config:
    """Map storage options (either spelling) and the AWS environment to one S3Config.

    What the environment supplies is passed to s3fs explicitly (as botocore would read it),
    so s3fs's instance cache never hands back a client built for another endpoint or account.
    """
    environ = os.environ if environ is None else environ
    given, passthrough = _split(options)
    anon = truthy(given.get("anon", False), name="anon")
    profile = given.get("profile") or None
    key, secret, token = given.get("key"), given.get("secret"), given.get("token")
    if not (key or anon or profile):  # an explicit profile beats the environment in botocore too
        key, secret, token = (environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY"),
                              environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN"))
    endpoint = given.get("endpoint_url")
    if not endpoint and not env_flag(environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    region = given.get("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    own = {}
    if "conditional_put" in given:
        own["conditional_put"] = parse_conditional_put(given["conditional_put"])
    if "unsafe_single_writer" in given:
        own["unsafe_single_writer"] = truthy(given["unsafe_single_writer"], name="unsafe_single_writer")
    secrets = [str(v) for v in (secret, token, given.get("secret"), given.get("token")) if v]
    secrets += [environ[k] for k in _SECRET_ENV if environ.get(k)]
    return S3Config(
        s3fs_kwargs=_s3fs_kwargs(passthrough, key=key, secret=secret, token=token, profile=profile, anon=anon,
                                 endpoint=endpoint, region=region),
        own=own, endpoint_url=endpoint or None, region=region or None, key=key or None, secret=secret or None,
        token=token or None, anon=anon, profile=profile,
        native_arrow=profile is None and passthrough.keys() <= _ARROW_COMPATIBLE
        and (passthrough.get("client_kwargs") or {}).keys() <= {"region_name"},
        secrets=tuple(sorted({s for s in secrets if len(s) >= 4})))


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options we understand (under their canonical names), and the rest for s3fs."""
    given: dict[str, Any] = {}
    passthrough: dict[str, Any] = {}
    for name, value in options.items():
        low = name.lower()
        if low in _IGNORED:
            continue
        canonical = _ALIASES.get(low, low if low in _OWN_S3 else None)
        if canonical is not None:
            if canonical in given and given[canonical] != value:
                raise StorageError(f"storage option {canonical!r} is given twice with different values")
            given[canonical] = value
        elif low.startswith("aws_"):
            raise StorageError(f"unknown S3 storage option {name!r}; known: {', '.join(_KNOWN)}")
        else:
            passthrough[name] = value
    return given, passthrough


def _s3fs_kwargs(passthrough: dict[str, Any], *, key, secret, token, profile, anon, endpoint, region) -> dict:
    # No listing cache (other writers change the log behind our back); max_concurrency=1 keeps
    # s3fs's cat_file from sending a HEAD before every GET of a small log entry.
    kwargs: dict[str, Any] = {"use_listings_cache": False, "max_concurrency": 1, **passthrough}
    for name, value in (("key", key), ("secret", secret), ("token", token), ("profile", profile),
                        ("endpoint_url", endpoint)):
        if value:
            kwargs[name] = value
    if anon:
        kwargs["anon"] = True
    client_kwargs = dict(kwargs.get("client_kwargs") or {})
    if region and "region_name" not in client_kwargs:
        client_kwargs["region_name"] = region
    if client_kwargs:
        kwargs["client_kwargs"] = client_kwargs
    # One retry policy, ours (retry.py), instead of botocore's and s3fs's stacked on top of it.
    config_kwargs = dict(kwargs.get("config_kwargs") or {})
    config_kwargs.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
    config_kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT)
    config_kwargs.setdefault("read_timeout", READ_TIMEOUT)
    kwargs["config_kwargs"] = config_kwargs
    return kwargs


# s3fs options that do not change where or how objects are reached, so pyarrow's client matches.
_ARROW_COMPATIBLE = {"config_kwargs", "client_kwargs", "use_listings_cache", "listings_expiry_time", "max_paths",
                     "max_concurrency", "default_block_size", "cache_regions", "connect_timeout", "read_timeout"}
_OWN_S3 = {"endpoint_url", "key", "secret", "token", "region", "profile", "anon"}
_KNOWN = sorted({*_ALIASES, *_IGNORED} - {"endpoint", "access_key_id", "secret_access_key", "session_token",
                                           "region_name", "allow_http"})


def filesystem(config: S3Config):
    """The s3fs filesystem for the log: one request per attempt (we retry), no listing cache
    (other writers change the log behind our back)."""
    import s3fs

    fs = s3fs.S3FileSystem(**config.s3fs_kwargs)
    fs.retries = 1
    return fs


def list_names(fs, path: str) -> list[str]:
    """Base names directly under `path` (objects and common prefixes), with one paginated
    LIST per 1000 names; empty if there are none (s3fs's ls would list the parent as well to
    tell "empty" from "missing", which an object store cannot tell apart anyway)."""
    bucket, _, prefix = path.strip("/").partition("/")
    prefix = f"{prefix}/" if prefix else ""
    names: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, Delimiter="/", **token)
        names += [c["Prefix"][len(prefix):].rstrip("/") for c in page.get("CommonPrefixes", [])]
        names += [o["Key"][len(prefix):] for o in page.get("Contents", []) if o["Key"] != prefix]
        if not page.get("IsTruncated"):
            return sorted(names)
        token = {"ContinuationToken": page["NextContinuationToken"]}


def walk_objects(fs, path: str, call=lambda fn: fn()):
    """(key below `path`, size, modification time in seconds) of every object under `path`,
    streamed a page (1000 keys) at a time: one flat LIST, no request per folder. `call` runs
    each page's request (the store's retries)."""
    bucket, _, prefix = path.strip("/").partition("/")
    prefix = f"{prefix}/" if prefix else ""
    token: dict[str, str] = {}
    while True:
        page = call(lambda: fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, **token))
        for o in page.get("Contents", []):
            if o["Key"] != prefix and not o["Key"].endswith("/"):  # folder markers are no files
                yield o["Key"][len(prefix):], int(o["Size"]), o["LastModified"].timestamp()
        if not page.get("IsTruncated"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


def arrow_filesystem(config: S3Config, bucket: str, *, max_attempts: int):
    """pyarrow's native S3 client for data files, configured like the s3fs one; None when it
    cannot be configured identically (a named profile, custom client options), and the
    caller then wraps s3fs instead."""
    if not config.native_arrow:
        return None
    timeouts = config.s3fs_kwargs.get("config_kwargs", {})
    # One client per configuration and process: building an AWS SDK client (and resolving a
    # bucket's region) costs more than reading a small table.
    key = (config.region or (None if config.endpoint_url else bucket), config.endpoint_url, config.anon,
           config.key, config.secret, config.token, max_attempts,
           tuple(sorted((k, str(v)) for k, v in timeouts.items())))
    with _ARROW_CLIENTS_LOCK:
        client = _ARROW_CLIENTS.get(key)
        if client is None:
            client = _ARROW_CLIENTS[key] = _new_arrow_filesystem(config, bucket, timeouts, max_attempts)
    return client


_ARROW_CLIENTS: dict[tuple, Any] = {}
_ARROW_CLIENTS_LOCK = threading.Lock()


def _new_arrow_filesystem(config: S3Config, bucket: str, timeouts: dict, max_attempts: int):
    import pyarrow.fs as pafs

    region = config.region
    if region is None:  # botocore follows region redirects; pyarrow must be told
        region = "us-east-1" if config.endpoint_url else _bucket_region(bucket)
    kwargs: dict[str, Any] = {
        "region": region,
        "connect_timeout": float(timeouts.get("connect_timeout", CONNECT_TIMEOUT)),
        "request_timeout": float(timeouts.get("read_timeout", READ_TIMEOUT)),
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=max_attempts),
        "allow_bucket_creation": False, "allow_bucket_deletion": False, "allow_delayed_open": True,
    }
    if config.anon:
        kwargs["anonymous"] = True
    elif config.key and config.secret:
        kwargs.update(access_key=config.key, secret_key=config.secret)
        if config.token:
            kwargs["session_token"] = config.token
    if config.endpoint_url:
        parts = urlsplit(config.endpoint_url if "://" in config.endpoint_url else f"https://{config.endpoint_url}")
        kwargs["scheme"] = parts.scheme or "https"
        kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
    return pafs.S3FileSystem(**kwargs)


def _bucket_region(bucket: str) -> str:
    import pyarrow.fs as pafs

    try:
        return pafs.resolve_s3_region(bucket)
    except OSError:
        return "us-east-1"
