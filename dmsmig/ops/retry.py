"""Bounded retries with exponential backoff and jitter for throttled AWS calls (tenacity)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from tenacity import retry, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from dmsmig.ops.errors import UsageError, explain, is_throttling

T = TypeVar("T")
MAX_ATTEMPTS = 6
MAX_SECONDS = 60.0


def _wait_multiplier() -> float:
    # Tests set DMSMIG_RETRY_WAIT=0 so a throttling scenario runs instantly.
    text = os.environ.get("DMSMIG_RETRY_WAIT", "0.5")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_SECONDS:
        raise UsageError(
            f"DMSMIG_RETRY_WAIT={text!r} is not a number of seconds from 0 to {MAX_SECONDS:.0f}",
            "unset it (default 0.5) or set e.g. DMSMIG_RETRY_WAIT=1",
        )
    return value


def call_with_retry(fn: Callable[..., T], *args, **kwargs) -> T:
    """Call ``fn`` and retry throttling errors up to 6 attempts / 60 s, then re-raise."""
    wrapped = retry(
        retry=retry_if_exception(is_throttling),
        wait=wait_random_exponential(multiplier=_wait_multiplier(), max=10 * max(_wait_multiplier(), 0.001)),
        stop=stop_after_attempt(MAX_ATTEMPTS) | stop_after_delay(MAX_SECONDS),
        reraise=True,
    )(fn)
    return wrapped(*args, **kwargs)


def call_naming(action: str, resource: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """:func:`call_with_retry`, and an AWS error that ends it names what was being done to which resource
    (``"scanning", "table order-events-prod"``) instead of only the API call."""
    try:
        return call_with_retry(fn, *args, **kwargs)
    except Exception as err:
        raise explain(err, action, resource) from None
