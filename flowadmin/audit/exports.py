"""The audit log as JSON objects, CSV and JSON Lines, with stable field names (see README)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flowadmin.audit.chain import canonical_timestamp
from flowadmin.audit.models import AuditEvent

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
JSON_FIELDS = frozenset({"before", "after", "patch", "http"})
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 200


# Columns an export reads: `FIELDS`, with the actor as its copied username.
COLUMNS = tuple("actor_username" if name == "actor" else name for name in FIELDS)


def record_as_dict(row: dict[str, Any]) -> dict[str, Any]:
    """The public form of one event, from a row of `COLUMNS` (as `.values(*COLUMNS)` gives)."""
    record = {name: row[column] for name, column in zip(FIELDS, COLUMNS, strict=True)}
    record["at"] = canonical_timestamp(record["at"])
    return record


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    return record_as_dict({column: getattr(event, column) for column in COLUMNS})


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
    writer.writerow(FIELDS)
    with _closing(events):
        for rows, event in enumerate(events, start=1):
            record = record_as_dict(event)
            writer.writerow([_csv_cell(name, record[name]) for name in FIELDS])
            if rows % ROWS_PER_CHUNK == 0:
                yield _drained(buffer)
    yield _drained(buffer)


def jsonl_stream(events: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object a line, in chunks of a few hundred lines."""
    chunk: list[str] = []
    with _closing(events):
        for event in events:
            chunk.append(json.dumps(record_as_dict(event), ensure_ascii=False) + "\n")
            if len(chunk) == ROWS_PER_CHUNK:
                yield "".join(chunk)
                chunk = []
    if chunk:
        yield "".join(chunk)


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
