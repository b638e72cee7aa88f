"""Audit events for tests: one at a time through the real write path, or many at once in bulk."""

import contextlib
import datetime as dt
from types import SimpleNamespace
from unittest import mock

from django.db import connection, transaction

from flowadmin.audit.chain import HASHED_FIELDS, event_hash
from flowadmin.audit.models import GENESIS_HASH, AuditEvent
from flowadmin.audit.services import audit_record, search_text_for

BULK_BATCH = 5000


def record_at(when: dt.datetime, **fields) -> AuditEvent:
    """`audit_record` as if it ran at `when`."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        return audit_record(**fields)


INSERT_COLUMNS = (*HASHED_FIELDS, "hash")
JSON_COLUMNS = ("before", "after", "patch", "http")


def bulk_events(count: int, *, start: dt.datetime | None = None, **fields) -> None:
    """Append `count` events with a valid chain, hashed in Python and inserted with executemany.

    Much faster than `count` calls to `audit_record` (or than bulk_create); only for tests.
    `fields` apply to every event; `detail` defaults to "bulk event <seq>".
    """
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = head or (0, GENESIS_HASH)
    start = start or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    values = {
        "actor_username": "",
        "action": "sandbox.synced",
        "outcome": "success",
        "sandbox": "bulk",
        "spec_id": "",
        "change_request_id": None,
        "correlation_id": "bulk",
        "before": None,
        "after": None,
        "patch": None,
        "http": None,
        **fields,
    }
    rows = []
    for offset in range(count):
        seq += 1
        event = SimpleNamespace(**values, seq=seq, at=start + dt.timedelta(seconds=offset), prev_hash=prev_hash)
        event.detail = fields.get("detail", f"bulk event {seq}")
        event.search_text = search_text_for(
            detail=event.detail,
            sandbox=event.sandbox,
            spec_id=event.spec_id,
            actor_username=event.actor_username,
            correlation_id=event.correlation_id,
            before=event.before,
            patch=event.patch,
        )
        event.hash = prev_hash = event_hash(event)
        rows.append(event)
        if len(rows) == BULK_BATCH:
            insert_events(rows)
            rows = []
    insert_events(rows)


def insert_events(events) -> None:
    """INSERT events (model instances or namespaces with every hashed field and the hash) as they are."""
    if not events:
        return
    json_fields = {name: AuditEvent._meta.get_field(name) for name in JSON_COLUMNS}
    placeholders = ", ".join(["%s"] * len(INSERT_COLUMNS))
    sql = f"INSERT INTO audit_event ({', '.join(INSERT_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
    rows = []
    for event in events:
        row = {name: getattr(event, name) for name in INSERT_COLUMNS}
        row["at"] = connection.ops.adapt_datetimefield_value(event.at)
        for name, field in json_fields.items():
            row[name] = field.get_db_prep_save(row[name], connection) if row[name] is not None else None
        rows.append([row[name] for name in INSERT_COLUMNS])
    with transaction.atomic(), connection.cursor() as cursor:  # one commit, not one a row
        cursor.executemany(sql, rows)


@contextlib.contextmanager
def triggers_off():
    """What someone with database access can do: on PostgreSQL, the append-only triggers of the audit
    tables disabled (a superuser or the tables' owner may), in a transaction of their own."""
    tables = ("audit_event", "audit_checkpoint")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending foreign key checks
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield cursor
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def tamper(sql: str, params: list | None = None) -> None:
    """Run raw SQL on the audit tables as someone with database access would, bypassing the app."""
    with triggers_off() as cursor:
        cursor.execute(sql, params or [])


def rewrite_chain(*, delete_seq: int | None = None, edit: dict[int, dict] | None = None) -> None:
    """A thorough rewrite from the database: remove and/or edit events, then renumber every event and
    recompute every hash with this project's own `event_hash`, so that the chain links again."""
    events = [event for event in AuditEvent.objects.order_by("seq") if event.seq != delete_seq]
    previous = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        for name, value in (edit or {}).get(event.seq, {}).items():
            setattr(event, name, value)
        event.seq, event.prev_hash = seq, previous
        event.hash = previous = event_hash(event)
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_event")
        insert_events(events)
