"""What the client keeps of each HTTP request it makes: enough to show and audit, nothing secret."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
