"""The audit page's integrity panel: a check that costs three small queries, whatever the size of the log.

It checks the latest checkpoint's signature and its file, that no newer checkpoint file exists
(checkpoints removed from the database), that the event it signed still has the signed hash, and
the links of the chain from it to the head (at most `TAIL_LIMIT` events: their seq, prev_hash and
hash). It recomputes no event's hash: the next checkpoint does that for the events after this
one before it signs them, and `manage.py audit_verify` for all. Beside it, the outcome of the last
full verification (`audit_verify`, or the schedule).
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from flowadmin.audit import signing
from flowadmin.audit.chain import BREAK_GAP, BREAK_PREV_HASH, ChainBreak
from flowadmin.audit.checkpoint_records import checkpoint_directory, checkpoint_path, checkpoint_record
from flowadmin.audit.keys import SOURCE_DEVELOPMENT, configured_key_source, verify_keys
from flowadmin.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from flowadmin.audit.verification import SIGNED_EVENT_MISSING, Problem, rewritten, tail_missing

TAIL_LIMIT = 100


@dataclass(frozen=True)
class Integrity:
    key_source: str  # keys.SOURCE_*, or "" when no checkpoint is signed
    dev_key_path: str
    directory: str
    checkpoint: AuditCheckpoint | None
    head_seq: int | None  # the last event, when no more than TAIL_LIMIT follow the checkpoint
    tail_checked: int  # events after the checkpoint whose chain was checked here
    tail_more: bool  # more events after it than this check looks at (the head is then not known here)
    problems: list[Problem]  # what this check found, the first affected event first
    last_full: AuditVerification | None

    @property
    def problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def development_key(self) -> bool:
        return self.key_source == SOURCE_DEVELOPMENT

    @property
    def signing_off(self) -> bool:
        return not self.key_source

    @property
    def unsigned_from(self) -> int | None:
        """The first event after the checkpoint, if there is one."""
        if self.checkpoint is None or not (self.tail_more or (self.head_seq or 0) > self.checkpoint.last_seq):
            return None
        return self.checkpoint.last_seq + 1


def audit_integrity() -> Integrity:
    """Three queries: the last two checkpoints, the last full verification, the events since the checkpoint."""
    latest_two = list(AuditCheckpoint.objects.order_by("-number")[:2])
    checkpoint = latest_two[0] if latest_two else None
    previous = latest_two[1] if len(latest_two) > 1 else None
    last_full = AuditVerification.objects.order_by("-id").first()
    problems, head_seq, checked, more = [], None, 0, False
    if checkpoint is not None:
        # The signed event, the events after it up to TAIL_LIMIT, and one more to know whether there are more.
        links = AuditEvent.objects.filter(seq__gte=checkpoint.last_seq).order_by("seq")
        events = list(links.values_list("seq", "prev_hash", "hash")[: TAIL_LIMIT + 2])
        more = len(events) > TAIL_LIMIT + 1
        events = events[: TAIL_LIMIT + 1]
        if events and not more:
            head_seq = events[-1][0]
        elif not events:  # the log ends before the checkpoint: only then is the head asked for
            head_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        tail_problem, checked = _tail_problem(checkpoint, previous, events, head_seq)
        found = [_checkpoint_problem(checkpoint, previous), tail_problem]
        problems = sorted((problem for problem in found if problem), key=lambda problem: problem.seq or 0)
    return Integrity(
        key_source=configured_key_source(),
        dev_key_path=_shown(settings.AUDIT_DEV_KEY_FILE),
        directory=str(checkpoint_directory() or ""),
        checkpoint=checkpoint,
        head_seq=head_seq,
        tail_checked=checked,
        tail_more=more,
        problems=problems,
        last_full=last_full,
    )


def _checkpoint_problem(checkpoint: AuditCheckpoint, previous: AuditCheckpoint | None) -> Problem | None:
    start = previous.last_seq + 1 if previous else 1
    label = f"checkpoint #{checkpoint.number} (events #{start}..#{checkpoint.last_seq})"
    try:
        keys = verify_keys()
    except ImproperlyConfigured as error:
        return Problem(None, f"{label} cannot be checked: {error}")
    if not keys:
        return Problem(None, f"{label} cannot be checked: no public key is configured (AUDIT_VERIFY_KEY)")
    record = checkpoint_record(checkpoint)
    problem = signing.checkpoint_problem(record, keys)
    if problem:
        return Problem(start, f"{label}: {problem}")
    if previous is not None and checkpoint.previous_digest != previous.digest:
        return Problem(start, f"{label}: it does not follow checkpoint #{previous.number}")
    directory = checkpoint_directory()
    if directory is None:
        return None
    later = checkpoint_path(directory, checkpoint.number + 1)
    if later.exists():
        return Problem(
            checkpoint.last_seq + 1,
            f"checkpoint #{checkpoint.number + 1} is in {directory} but not in the database: "
            "checkpoints, and the events they cover, may have been removed",
        )
    try:
        file = json.loads(checkpoint_path(directory, checkpoint.number).read_bytes())
    except FileNotFoundError:
        return None  # written just after its row commits; audit_verify reports a file still missing
    except (OSError, ValueError):
        file = None
    if file != record:
        return Problem(start, f"{label}: its file in {directory} does not match the database")
    return None


def _tail_problem(checkpoint, previous, events: list[tuple], head_seq: int | None) -> tuple[Problem | None, int]:
    """The signed event still as signed, and the links from it to the head; (problem, events checked after it).

    `events`: (seq, prev_hash, hash) from the signed event on.
    """
    at = checkpoint_record(checkpoint)["at"]
    if not events or events[0][0] != checkpoint.last_seq:
        if head_seq is None or head_seq < checkpoint.last_seq:
            head = head_seq or 0
            return tail_missing(head=head, number=checkpoint.number, last_seq=checkpoint.last_seq, at=at), 0
        message = SIGNED_EVENT_MISSING.format(number=checkpoint.number, last=checkpoint.last_seq)
        return Problem(checkpoint.last_seq, message), 0
    if events[0][2] != checkpoint.head_hash:
        first = previous.last_seq + 1 if previous else 1
        return rewritten(first=first, number=checkpoint.number, last_seq=checkpoint.last_seq, at=at), 0
    expected_seq, previous_hash = checkpoint.last_seq + 1, checkpoint.head_hash
    for seq, prev_hash, event_hash_ in events[1:]:
        if seq != expected_seq:
            broken = ChainBreak(seq=seq, kind=BREAK_GAP, expected=str(expected_seq), found=str(seq))
        elif prev_hash != previous_hash:
            broken = ChainBreak(seq=seq, kind=BREAK_PREV_HASH, expected=previous_hash, found=prev_hash)
        else:
            expected_seq, previous_hash = seq + 1, event_hash_
            continue
        return Problem(broken.first_seq, broken.what()), expected_seq - checkpoint.last_seq - 1
    return None, len(events) - 1


@functools.cache
def _shown(path) -> str:
    """A path as the page shows it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)
