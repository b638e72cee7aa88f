"""What the client keeps of each HTTP request it makes: enough to show and audit, nothing secret."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

_recordings = threading.local()


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its outcome, safe to store and show: no headers, no bodies, no secrets."""

    method: str
    url: str
    status: int | None
    request_id: str
    duration_ms: int
    attempt: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Collect every exchange this thread makes inside the block (retries and token requests included)."""
    exchanges: list[Exchange] = []
    stack = getattr(_recordings, "stack", None)
    if stack is None:
        stack = _recordings.stack = []
    stack.append(exchanges)
    try:
        yield exchanges
    finally:
        stack.remove(exchanges)


def record(exchange: Exchange) -> None:
    for exchanges in getattr(_recordings, "stack", ()):
        exchanges.append(exchange)
