"""Full verification of the audit trail: the chain, every checkpoint and every checkpoint file.

Nothing in the database is trusted: a checkpoint counts only if its signature verifies with a
public key given from outside the database (settings or the command line), and each row is
compared with its file in ``AUDIT_CHECKPOINT_DIR``. What it finds, each with the first event
affected: a changed, removed or reordered event (the chain), a rewritten chain whose hashes were
recomputed (it no longer matches a signed checkpoint), a missing tail up to the last checkpoint,
a forged, unknown-key or missing checkpoint, a missing file, a file that disagrees with its row.

It streams: events and checkpoint rows are read in chunks in seq order, files one at a time, so
memory does not grow with the log. What it guarantees: every event up to the last checkpoint it
matched (`VerificationReport.verified`); events after it are not covered yet.
"""

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone

from flowadmin.audit import signing
from flowadmin.audit.chain import event_breaks
from flowadmin.audit.checkpoint_records import checkpoint_path, checkpoint_record
from flowadmin.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditVerification

FILE_GRACE = dt.timedelta(seconds=30)  # a checkpoint's file is written just after its row commits:
FILE_WAIT_SECONDS = 1.0  # the file of one written in the last FILE_GRACE is waited for this long
KEPT_PROBLEMS = 1000  # problems kept in full; the rest are counted
RECORDED_PROBLEMS = 20  # problems kept in an AuditVerification row

NO_KEYS = "No public key to verify checkpoints with: set AUDIT_VERIFY_KEY or pass --public-key."
TAIL_MISSING = (
    "{events}: signed checkpoint #{number} (written {at}) covers the log through #{last}, but it ends at #{head}"
)
REWRITTEN = (
    "{events} signed checkpoint #{number} (written {at}): an event in this range was changed, removed or inserted "
    "and the chain's hashes recomputed"
)
SIGNED_EVENT_MISSING = "checkpoint #{number} signed event #{last}, which is missing"


def events_text(first: int, last: int, singular: str, plural: str) -> str:
    """ "event #6 is missing" or "events #6..#9 are missing": the start of a problem's sentence."""
    return f"event #{first} {singular}" if first == last else f"events #{first}..#{last} {plural}"


def when_text(at: str) -> str:
    """A signed ISO 8601 time as people read it, in UTC."""
    return dt.datetime.fromisoformat(at).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the first event affected; None when no event can be named
    message: str

    def describe(self) -> str:
        return f"#{self.seq}: {self.message}" if self.seq is not None else self.message


def tail_missing(*, head: int, number: int, last_seq: int, at: str) -> Problem:
    """The log ends at `head`, before the end of what checkpoint `number` signed."""
    events = events_text(head + 1, last_seq, "is missing", "are missing")
    return Problem(
        head + 1, TAIL_MISSING.format(events=events, number=number, at=when_text(at), last=last_seq, head=head)
    )


def rewritten(*, first: int, number: int, last_seq: int, at: str) -> Problem:
    """The event checkpoint `number` signed has another hash now: something from `first` on was rewritten."""
    events = events_text(first, last_seq, "does not match", "do not match")
    return Problem(first, REWRITTEN.format(events=events, number=number, at=when_text(at)))


@dataclass(frozen=True)
class Signed:
    """A checkpoint whose signature verified (its file's record when the file and the row differ)."""

    number: int
    last_seq: int
    head_hash: str
    at: str
    digest: str


@dataclass
class VerificationReport:
    key_ids: tuple[str, ...]
    directory: str  # "" when no checkpoint files were compared
    events_checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints_checked: int = 0
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    lowest_problem_seq: int | None = None  # 0 for a problem that names no event
    verified: Signed | None = None  # the last checkpoint through which every event is intact
    latest: Signed | None = None  # the last checkpoint whose signature verified
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def verified_through(self) -> int:
        return self.verified.last_seq if self.verified else 0

    @property
    def first_problem_seq(self) -> int | None:
        return min((problem.seq for problem in self.problems if problem.seq is not None), default=None)

    def add(self, seq: int | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(Problem(seq, message))
        lowest = 0 if seq is None else seq
        self.lowest_problem_seq = lowest if self.lowest_problem_seq is None else min(lowest, self.lowest_problem_seq)

    def add_problem(self, problem: Problem) -> None:
        self.add(problem.seq, problem.message)

    def intact_through(self, seq: int) -> bool:
        return self.lowest_problem_seq is None or self.lowest_problem_seq > seq


def audit_log_verify(*, keys: dict, directory: Path | None, chunk_size: int = 2000) -> VerificationReport:
    """Verify the whole log against the checkpoints, `keys` (key id -> public key) and the files in `directory`."""
    started = time.monotonic()
    report = VerificationReport(key_ids=tuple(sorted(keys)), directory=str(directory or ""))
    source = _Checkpoints(report, keys=keys, directory=directory, chunk_size=chunk_size)
    checkpoints = iter(source)
    if not keys and AuditCheckpoint.objects.exists():
        report.add(None, NO_KEYS)
    # The checkpoints are read first: each was written after its events, so the events read next hold them all.
    pending = next(checkpoints, None)
    expected_seq, previous_hash, signed_from = 1, GENESIS_HASH, 1
    with closing(AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)) as events:
        for event in events:
            for broken in event_breaks(event, expected_seq=expected_seq, previous_hash=previous_hash):
                report.add(broken.first_seq, broken.what())
            report.events_checked += 1
            while pending is not None and pending.last_seq <= event.seq:
                _match(report, pending, event, signed_from)
                signed_from, pending = pending.last_seq + 1, next(checkpoints, None)
            expected_seq, previous_hash = event.seq + 1, event.hash
    report.head_seq, report.head_hash = expected_seq - 1, previous_hash
    if pending is not None:
        report.add_problem(
            tail_missing(head=report.head_seq, number=pending.number, last_seq=pending.last_seq, at=pending.at)
        )
        for _later in checkpoints:  # still checked: signatures, files, links
            pass
    report.seconds = round(time.monotonic() - started, 3)
    return report


def audit_verification_record(report: VerificationReport) -> AuditVerification:
    """Keep the outcome for the audit page (a summary for people, not evidence)."""
    return AuditVerification.objects.create(
        at=timezone.now(),
        ok=report.ok,
        events_checked=report.events_checked,
        head_seq=report.head_seq,
        checkpoints_checked=report.checkpoints_checked,
        verified_through=report.verified_through,
        checkpoint_number=report.verified.number if report.verified else None,
        checkpoint_at=dt.datetime.fromisoformat(report.verified.at) if report.verified else None,
        first_problem_seq=report.first_problem_seq,
        problem_count=report.problem_count,
        problems=[problem.describe() for problem in report.problems[:RECORDED_PROBLEMS]],
        seconds=report.seconds,
    )


def _match(report: VerificationReport, checkpoint: Signed, event: AuditEvent, signed_from: int) -> None:
    """Compare a signed checkpoint with the event at its last seq (or the first event after it)."""
    if checkpoint.last_seq < event.seq:
        report.add(checkpoint.last_seq, SIGNED_EVENT_MISSING.format(number=checkpoint.number, last=checkpoint.last_seq))
    elif event.hash != checkpoint.head_hash:
        report.add_problem(
            rewritten(first=signed_from, number=checkpoint.number, last_seq=checkpoint.last_seq, at=checkpoint.at)
        )
    elif report.intact_through(checkpoint.last_seq):
        report.verified = checkpoint


class _Checkpoints:
    """Signed checkpoints in number order, from the rows and the files; what disagrees goes to the report."""

    def __init__(self, report: VerificationReport, *, keys: dict, directory: Path | None, chunk_size: int):
        self.report, self.keys, self.directory, self.chunk_size = report, keys, directory, chunk_size
        self.now = timezone.now()

    def __iter__(self) -> Iterator[Signed]:
        previous: Signed | None = None
        missing_from: int | None = None  # the first of a run of numbers found nowhere
        for number, row in self._numbers():
            file, file_error = self._file(number)
            if row is None and file is None and not file_error:
                missing_from = number if missing_from is None else missing_from
                continue
            if missing_from is not None:
                self._missing_everywhere(previous, missing_from, number - 1)
                missing_from = None
            signed = self._judge(number, row, file, file_error, previous)
            if signed is not None:
                previous = self.report.latest = signed
                yield signed

    def _numbers(self) -> Iterator[tuple[int, dict | None]]:
        """(number, row record) from 1 to the last row, None where a row is missing; then any files beyond."""
        expected = 1
        rows = AuditCheckpoint.objects.order_by("number").iterator(chunk_size=self.chunk_size)
        with closing(rows):
            for row in rows:
                while expected < row.number:
                    yield expected, None
                    expected += 1
                yield row.number, checkpoint_record(row)
                expected = row.number + 1
        while self.directory is not None and checkpoint_path(self.directory, expected).exists():
            # A file beyond the last row: removed from the database, or written since the rows were read.
            row = AuditCheckpoint.objects.filter(number=expected).first()
            yield expected, checkpoint_record(row) if row else None
            expected += 1

    def _file(self, number: int) -> tuple[dict | None, str]:
        if self.directory is None:
            return None, ""
        try:
            record = json.loads(checkpoint_path(self.directory, number).read_bytes())
        except FileNotFoundError:
            return None, ""
        except OSError as error:
            return None, error.strerror or "unreadable"
        except ValueError:
            return None, "not JSON"
        self.report.files_checked += 1
        return (record, "") if isinstance(record, dict) else (None, "not a JSON object")

    def _judge(self, number, row, file, file_error, previous: Signed | None) -> Signed | None:
        self.report.checkpoints_checked += 1
        start = previous.last_seq + 1 if previous else 1
        claimed = row or file
        label = f"checkpoint #{number} (events #{start}..#{claimed.get('last_seq', '?') if claimed else '?'})"
        name = checkpoint_path(self.directory, number).name if self.directory else ""
        add = lambda message: self.report.add(start, f"{label}: {message}")  # noqa: E731
        waited = self.directory is not None and row is not None and file is None and not file_error
        if waited and self._arrives(number, row):
            file, file_error = self._file(number)
        if file_error:
            add(f"its file {name} cannot be read ({file_error})")
        elif self.directory is not None and file is None:
            add(f"its file {name} is missing from {self.directory}")
        elif row is None:
            add(f"it is in {self.directory} but not in the database")
        elif file is not None and file != row:
            differing = sorted(key for key in {*file, *row} if file.get(key) != row.get(key))
            add(f"the database row and its file {name} disagree ({', '.join(differing)})")
        trusted = None
        sources = [("", row)] if file is None or file == row else [("its file: ", file), ("its database row: ", row)]
        for source, record in sources:
            if record is None:
                continue
            problem = signing.checkpoint_problem(record, self.keys)
            if problem:
                add(source + problem)
            elif trusted is None:
                trusted = record
        if trusted is None:
            return None
        follows = previous is not None and previous.number == number - 1
        expected_previous = signing.GENESIS_DIGEST if number == 1 else previous.digest if follows else None
        if expected_previous is not None and trusted["previous_digest"] != expected_previous:
            add(f"it does not follow checkpoint #{number - 1} (its previous_digest differs)")
        if previous is not None and trusted["last_seq"] <= previous.last_seq:
            add(f"it goes back to event #{trusted['last_seq']} after checkpoint #{previous.number}")
        if trusted["event_count"] != trusted["last_seq"]:
            add(f"it counts {trusted['event_count']} events through event #{trusted['last_seq']}")
        return Signed(trusted["number"], trusted["last_seq"], trusted["head_hash"], trusted["at"], trusted["digest"])

    def _missing_everywhere(self, previous: Signed | None, first: int, last: int) -> None:
        start = previous.last_seq + 1 if previous else 1
        where = "the database" + (" and the checkpoint directory" if self.directory is not None else "")
        self.report.add(start, f"checkpoints #{first}..#{last} are missing from {where}")

    def _arrives(self, number: int, row: dict | None) -> bool:
        """Whether the missing file of a checkpoint written moments ago appears (it follows its row's commit)."""
        try:
            recent = row is not None and self.now - dt.datetime.fromisoformat(row["at"]) < FILE_GRACE
        except (TypeError, ValueError):
            recent = False
        deadline = time.monotonic() + FILE_WAIT_SECONDS
        while recent and time.monotonic() < deadline:
            time.sleep(0.05)
            if checkpoint_path(self.directory, number).exists():
                return True
        return False
