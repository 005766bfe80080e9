"""Bounded retries with exponential backoff and full jitter for transient store failures.

A failure is transient when the store could not serve the request right now: throttling
(S3 `SlowDown`, HTTP 429), a 5xx, a timeout or a dropped connection. Classification reads
the structured error first (botocore's error code and HTTP status, anywhere in the chain of
causes) and falls back to pyarrow's AWS error names, which are only available as text.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

# Error codes S3 (and botocore's retry handler) treat as "try again later".
TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequests", "TooManyRequestsException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "ProvisionedThroughputExceededException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "ServiceUnavailable",
    "OperationAborted",
    "ConditionalRequestConflict",  # S3's 409 while a concurrent conditional write to the key is in flight
})
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
# pyarrow's native S3 client reports AWS SDK error kinds only in its message.
_ARROW_MARKERS = ("AWS Error SLOW_DOWN", "AWS Error THROTTLING", "AWS Error SERVICE_UNAVAILABLE",
                  "AWS Error INTERNAL_FAILURE", "AWS Error NETWORK_CONNECTION", "AWS Error REQUEST_TIMEOUT",
                  "AWS Error REQUEST_TIME_TOO_SKEWED")
_DEFINITE = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt)))


def is_transient(exc: BaseException) -> bool:
    """True if the same request may well succeed if tried again shortly."""
    if isinstance(exc, _DEFINITE):
        return False
    for e in _chain(exc):
        verdict = _structured(e)
        if verdict is not None:
            return verdict
    text = str(exc)
    return any(m in text for m in _ARROW_MARKERS)


def _chain(exc: BaseException, limit: int = 8):
    seen = 0
    while exc is not None and seen < limit:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1


def _structured(e: BaseException) -> bool | None:
    """A verdict from the exception's type or response, or None if it says nothing."""
    response = getattr(e, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):  # botocore ClientError
        code = response["Error"].get("Code")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in TRANSIENT_CODES or status in TRANSIENT_STATUS
    if isinstance(e, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
        return True
    return True if isinstance(e, _network_errors()) else None


def _network_errors() -> tuple[type[BaseException], ...]:
    """Timeouts and broken connections of the HTTP stacks already imported (never imports them)."""
    types: list[type[BaseException]] = []
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        types += [getattr(botocore, n, None) for n in
                  ("HTTPClientError", "ConnectionError", "IncompleteReadError", "ResponseStreamingError")]
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        types += [getattr(aiohttp, n, None) for n in ("ClientConnectionError", "ClientPayloadError")]
    return tuple(t for t in types if isinstance(t, type))


def is_store_error(exc: BaseException) -> bool:
    """An error the store raised (as opposed to a bug): OSError, or botocore/aiohttp's own."""
    if isinstance(exc, OSError):
        return True
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("botocore", "aiobotocore", "aiohttp") or isinstance(exc, _network_errors())


def with_retries(fn: Callable[[], T], policy: RetryPolicy, *,
                 retry_if: Callable[[BaseException], bool] = is_transient) -> T:
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - classified just below
            attempt += 1
            if attempt >= policy.max_attempts or not retry_if(e):
                raise
            time.sleep(policy.delay(attempt))
