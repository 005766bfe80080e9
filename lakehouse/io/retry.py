"""Bounded retries with exponential backoff and full jitter for transient store failures."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

T = TypeVar("T")

# Markers of a request the store refused or could not serve right now (throttling, 5xx).
_TRANSIENT_MARKERS = (
    "slowdown", "slow down", "throttl", "toomanyrequests", "too many requests", "requesttimeout",
    "serviceunavailable", "service unavailable", "internalerror", "internal error",
    "503", "500", "502", "504", "429",
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt)))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(m in text for m in _TRANSIENT_MARKERS)


def with_retries(fn: Callable[[], T], policy: RetryPolicy, *, retry_if: Callable[[BaseException], bool] = is_transient) -> T:
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - classified just below
            attempt += 1
            if attempt >= policy.max_attempts or not retry_if(e):
                raise
            time.sleep(policy.delay(attempt))
