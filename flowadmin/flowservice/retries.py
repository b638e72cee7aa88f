"""How the client retries a read: the policy, ``Retry-After``, and who is told of each retry.

with retries_reported(listener):   # listener(RetryNotice) before each wait of this thread
    ...
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("flowadmin.flowservice")

RETRY_STATUSES = frozenset({429, 502, 503, 504})


_retry_listeners = threading.local()


@dataclass(frozen=True)
class RetryNotice:
    """A read about to be tried again: why, which attempt comes next of how many, after how long."""

    method: str
    url: str
    reason: str  # "HTTP 503", "no answer in time", ...
    attempt: int  # the attempt about to be made (2 for the first retry)
    attempts: int  # the most attempts the policy makes
    seconds: float

    @property
    def text(self) -> str:
        return f"retrying after {self.reason} (attempt {self.attempt} of {self.attempts})"


@contextmanager
def retries_reported(listener: Callable[[RetryNotice], None]) -> Iterator[None]:
    """Tell ``listener`` of every retry this thread waits for inside the block (a progress display)."""
    stack = getattr(_retry_listeners, "stack", None)
    if stack is None:
        stack = _retry_listeners.stack = []
    stack.append(listener)
    try:
        yield
    finally:
        stack.remove(listener)


def retry_told(notice: RetryNotice) -> None:
    for listener in list(getattr(_retry_listeners, "stack", ())):
        try:
            listener(notice)
        except Exception:  # a display must never break the call it watches
            logger.warning("a retry listener failed", exc_info=True)


def retry_after_seconds(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or an HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait in between."""

    max_retries: int = 4
    backoff: float = 0.5
    backoff_max: float = 8.0
    sleep: Callable[[float], Any] = time.sleep
    rng: Callable[[], float] = random.random

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based).

        ``Retry-After`` wins when the server sent one; otherwise exponential back-off with "equal
        jitter" (between half and all of ``backoff * 2**(retry-1)``). Both are capped by ``backoff_max``.
        """
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff * (2 ** (retry - 1)))
        return ceiling / 2 + self.rng() * ceiling / 2
