"""Audit events for tests: one at a time through the real write path, or many at once in bulk."""

import datetime as dt
from unittest import mock

from django.db import connection

from flowadmin.audit.chain import event_hash
from flowadmin.audit.models import GENESIS_HASH, AuditEvent
from flowadmin.audit.services import audit_record, search_text_for

BULK_BATCH = 5000


def record_at(when: dt.datetime, **fields) -> AuditEvent:
    """`audit_record` as if it ran at `when`."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        return audit_record(**fields)


def bulk_events(count: int, *, start: dt.datetime | None = None, **fields) -> None:
    """Append `count` events with a valid chain, hashed in Python and inserted in batches.

    Much faster than `count` calls to `audit_record`; only for tests. `fields` apply to every
    event; `detail` defaults to "bulk event <seq>".
    """
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = head or (0, GENESIS_HASH)
    start = start or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    defaults = {"action": "sandbox.synced", "outcome": "success", "sandbox": "bulk", "correlation_id": "bulk"}
    batch = []
    for offset in range(count):
        seq += 1
        values = {**defaults, **fields}
        values.setdefault("detail", f"bulk event {seq}")
        event = AuditEvent(seq=seq, at=start + dt.timedelta(seconds=offset), prev_hash=prev_hash, **values)
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
        batch.append(event)
        if len(batch) == BULK_BATCH:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)


def tamper(sql: str, params: list) -> None:
    """Run raw SQL on the audit table as someone with database access would, bypassing the app.

    On PostgreSQL the append-only triggers are disabled for the statement, inside the test's
    transaction (rolled back with it).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending foreign key checks
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")
