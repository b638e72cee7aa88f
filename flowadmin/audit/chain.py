"""The hash chain: what an event's hash covers, and how the whole chain is checked.

An event's hash is the SHA-256 (hex) of a canonical JSON object holding every stored field except
the actor's foreign key (which `SET_NULL` may clear) and the hash itself; `prev_hash` is part of it,
which links each event to the one before. The first event's `prev_hash` is 64 zeros.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowadmin.audit.models import GENESIS_HASH, AuditEvent

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_username",
    "action",
    "sandbox",
    "spec_id",
    "change_request_id",
    "outcome",
    "before",
    "after",
    "patch",
    "http",
    "correlation_id",
    "detail",
    "search_text",
    "prev_hash",
)

BREAK_GAP = "gap"
BREAK_PREV_HASH = "prev_hash"
BREAK_CONTENT = "content"


def _normalise(value: Any) -> Any:
    # The same number must hash the same before and after a round trip through the database
    # (PostgreSQL's jsonb prints 1e+20 back as 100000000000000000000).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def canonical_timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_event(event: AuditEvent) -> str:
    """The canonical JSON an event's hash is computed over."""
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["at"] = canonical_timestamp(event.at)
    return json.dumps(_normalise(content), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_event(event).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    kind: str  # BREAK_GAP, BREAK_PREV_HASH or BREAK_CONTENT
    expected: str
    found: str

    @property
    def first_seq(self) -> int:
        """The first event affected: for a gap, the first one missing."""
        return int(self.expected) if self.kind == BREAK_GAP else self.seq

    def what(self) -> str:
        if self.kind == BREAK_GAP:
            missing = int(self.found) - int(self.expected)
            return f"{missing} event(s) missing: the chain jumps from #{int(self.expected) - 1} to #{self.found}"
        what = (
            "prev_hash does not match the previous event's hash"
            if self.kind == BREAK_PREV_HASH
            else "content changed: the recomputed hash does not match the stored one"
        )
        return f"{what} (expected {self.expected}, found {self.found})"

    def describe(self) -> str:
        return f"event #{self.first_seq}: {self.what()}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def event_breaks(event: AuditEvent, *, expected_seq: int, previous_hash: str) -> list[ChainBreak]:
    """What is wrong with one event, given the seq and hash the chain expects before it.

    A gap (the event's link is then not judged: its predecessor is missing), a broken link, changed
    content; an empty list when it is sound.
    """
    breaks = []
    if event.seq != expected_seq:
        breaks.append(ChainBreak(seq=event.seq, kind=BREAK_GAP, expected=str(expected_seq), found=str(event.seq)))
    elif event.prev_hash != previous_hash:
        breaks.append(ChainBreak(seq=event.seq, kind=BREAK_PREV_HASH, expected=previous_hash, found=event.prev_hash))
    recomputed = event_hash(event)
    if recomputed != event.hash:
        breaks.append(ChainBreak(seq=event.seq, kind=BREAK_CONTENT, expected=recomputed, found=event.hash))
    return breaks


def chain_check(events: Iterable[AuditEvent]) -> ChainReport:
    """Walk events in seq order and stop at the first broken link."""
    checked, expected_seq, previous_hash = 0, 1, GENESIS_HASH
    for event in events:
        breaks = event_breaks(event, expected_seq=expected_seq, previous_hash=previous_hash)
        if breaks:
            return ChainReport(checked=checked, head_seq=expected_seq - 1, head_hash=previous_hash, broken=breaks[0])
        checked += 1
        expected_seq, previous_hash = event.seq + 1, event.hash
    return ChainReport(checked=checked, head_seq=expected_seq - 1, head_hash=previous_hash, broken=None)
