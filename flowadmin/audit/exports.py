"""The audit log as JSON objects, CSV and JSON Lines, with stable field names (see README).

A JSON Lines export is verifiable on its own (`scripts/verify_audit_export.py`): besides one line
per event (unchanged), it has lines with a ``type``, which are not events: first an ``export``
line (its filters, whether it is ``complete``), after each event a ``search_text`` line (the stored
search text, which the event's hash also covers), and the signed ``checkpoint`` records that
cover the events, each after the event it ends at.

Beside each id, every form carries the name flowadmin knows for it when exported (``NAMED``:
``sandbox_title`` after ``sandbox``, ``spec_name`` after ``spec_id``; "" when unknown). Names are
looked up once per chunk of events; they are not part of an event's hash (a verifier ignores them).
"""

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone

from flowadmin.audit.chain import canonical_timestamp
from flowadmin.audit.models import AuditEvent
from flowadmin.audit.names import page_names
from flowadmin.audit.selectors import (
    EXPORT_CHUNK_SIZE,
    AuditFilters,
    audit_checkpoint_latest_number,
    audit_checkpoint_records,
    audit_event_export,
)
from flowadmin.catalog.names import Names

FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "sandbox",
    "spec_id",
    "change_request_id",
    "correlation_id",
    "detail",
    "before",
    "after",
    "patch",
    "http",
    "prev_hash",
    "hash",
)
# An id field -> the field beside it that names it.
NAMED = {"sandbox": "sandbox_title", "spec_id": "spec_name"}
EXPORT_FIELDS = tuple(name for field in FIELDS for name in (field, NAMED.get(field)) if name)
JSON_FIELDS = frozenset({"before", "after", "patch", "http"})
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 200


# Columns an export reads: `FIELDS`, with the actor as its copied username.
COLUMNS = tuple("actor_username" if name == "actor" else name for name in FIELDS)
JSONL_COLUMNS = (*COLUMNS, "search_text")
EXPORT_FORMAT = 1


def record_as_dict(row: dict[str, Any], names: Names | None = None) -> dict[str, Any]:
    """The public form of one event, from a row of `COLUMNS` (as `.values(*COLUMNS)` gives); with
    ``names``, each named id is followed by its name (`EXPORT_FIELDS`)."""
    record = {}
    for name, column in zip(FIELDS, COLUMNS, strict=True):
        record[name] = row[column]
        if names is not None and name in NAMED:
            record[NAMED[name]] = names.sandbox_title(row[column]) if name == "sandbox" else names.spec(row[column])
    record["at"] = canonical_timestamp(record["at"])
    return record


def event_as_dict(event: AuditEvent, names: Names | None = None) -> dict[str, Any]:
    return record_as_dict({column: getattr(event, column) for column in COLUMNS}, names)


def with_names(rows: Iterable[dict[str, Any]], size: int = EXPORT_CHUNK_SIZE) -> Iterator[tuple[dict, Names]]:
    """Each row with the names of its chunk (``size`` rows): one lookup per chunk, constant memory."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            names = page_names(chunk)
            yield from ((item, names) for item in chunk)
            chunk = []
    if chunk:
        names = page_names(chunk)
        yield from ((item, names) for item in chunk)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _csv_cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in JSON_FIELDS:
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return csv_safe(value) if isinstance(value, str) else value


def csv_stream(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in chunks of a few hundred rows; holds no more than one chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    with _closing(events):
        for rows, (event, names) in enumerate(with_names(events), start=1):
            record = record_as_dict(event, names)
            writer.writerow([_csv_cell(name, record[name]) for name in EXPORT_FIELDS])
            if rows % ROWS_PER_CHUNK == 0:
                yield _drained(buffer)
    yield _drained(buffer)


def jsonl_export(*, filters: AuditFilters) -> Iterator[str]:
    """The JSON Lines export of the events matching `filters`, with what verifies them (see the module)."""
    # The last checkpoint is read before the events: it was written after its events, so they hold all it covers.
    through = audit_checkpoint_latest_number()
    complete = filters == AuditFilters()
    header = {
        "type": "export",
        "format": EXPORT_FORMAT,
        "complete": complete,
        "filters": _filters_as_dict(filters),
        "exported_at": canonical_timestamp(timezone.now()),
        "last_checkpoint": through,
    }
    events = audit_event_export(filters=filters, columns=JSONL_COLUMNS)
    checkpoints = None
    if through is not None:
        checkpoints = lambda from_seq: audit_checkpoint_records(through_number=through, from_seq=from_seq)  # noqa: E731
    return jsonl_stream(events, header=header, checkpoints=checkpoints, complete=complete)


def jsonl_stream(
    events: Iterable[dict[str, Any]],
    *,
    header: dict | None = None,
    checkpoints: Callable[[int], Iterator[dict]] | None = None,
    complete: bool = False,
) -> Iterator[str]:
    """One JSON object a line, in chunks of a few hundred lines.

    `checkpoints(from_seq)`: the checkpoint records ending at `from_seq` or later; each is written
    after the event it ends at (or where that event would be). A `complete` export also ends with
    the checkpoints beyond its last event: they show events missing from the log.
    """
    chunk: list[str] = [json.dumps(header) + "\n"] if header else []
    with _closing(events):
        for record in _with_checkpoints(events, checkpoints, complete):
            chunk.append(json.dumps(record, ensure_ascii=False) + "\n")
            if len(chunk) >= ROWS_PER_CHUNK:
                yield "".join(chunk)
                chunk = []
    if chunk:
        yield "".join(chunk)


def _with_checkpoints(events, checkpoints, complete: bool) -> Iterator[dict]:
    later: Iterator[dict] | None = None
    pending = None
    try:
        for row, names in with_names(events):
            record = record_as_dict(row, names)
            seq = record["seq"]
            if later is None and checkpoints is not None:
                later = checkpoints(0 if complete else seq - 1)
                pending = next(later, None)
            while pending is not None and pending["last_seq"] < seq:
                yield pending
                pending = next(later, None)
            yield record
            if "search_text" in row:
                yield {"type": "search_text", "seq": seq, "search_text": row["search_text"]}
            if pending is not None and pending["last_seq"] == seq:
                yield pending
                pending = next(later, None)
        if complete and checkpoints is not None:
            if later is None:
                later = checkpoints(0)
                pending = next(later, None)
            while pending is not None:
                yield pending
                pending = next(later, None)
    finally:
        close = getattr(later, "close", None)
        if close is not None:
            close()


def _filters_as_dict(filters: AuditFilters) -> dict[str, Any]:
    values = {}
    for name, value in dataclasses.asdict(filters).items():
        if value in ("", None):
            continue
        values[name] = canonical_timestamp(value) if isinstance(value, dt.datetime) else value
    return values


@contextmanager
def _closing(events: Iterable[dict[str, Any]]) -> Iterator[None]:
    # A download cut short must release its database cursor now, not whenever it is collected.
    try:
        yield
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def _drained(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text
