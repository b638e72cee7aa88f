"""PostgreSQL refuses changes to the audit table even to someone who bypasses the application."""

import pytest
from django.db import DatabaseError, connection, transaction

from flowadmin.audit.chain import chain_check
from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.models import AuditCheckpoint, AuditEvent
from flowadmin.audit.services import audit_record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only triggers exist on PostgreSQL only"),
    pytest.mark.django_db,
]


@pytest.fixture
def event(staff_user):
    return audit_record(action="change.proposed", actor=staff_user, detail="original")


def _refused(sql: str, params: list | None = None) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _unchanged(event) -> bool:
    stored = AuditEvent.objects.get(seq=event.seq)
    return (stored.detail, stored.hash, stored.actor_id) == ("original", event.hash, event.actor_id)


def test_an_update_in_sql_is_refused(event):
    _refused("UPDATE audit_event SET detail = 'edited' WHERE seq = %s", [event.seq])
    assert _unchanged(event)


def test_a_delete_in_sql_is_refused(event):
    _refused("DELETE FROM audit_event WHERE seq = %s", [event.seq])
    assert _unchanged(event)


def test_truncate_is_refused(event):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # settle the deferred foreign key check of the insert
    _refused("TRUNCATE audit_event")
    assert _unchanged(event)


def test_clearing_the_actor_is_allowed_only_with_nothing_else_changed(event, approver_user):
    _refused("UPDATE audit_event SET actor_id = NULL, detail = 'edited' WHERE seq = %s", [event.seq])
    _refused("UPDATE audit_event SET actor_id = %s WHERE seq = %s", [approver_user.pk, event.seq])
    assert _unchanged(event)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_event SET actor_id = NULL WHERE seq = %s", [event.seq])

    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.actor_id, stored.actor_username, stored.hash) == (None, "staff", event.hash)
    assert chain_check(AuditEvent.objects.order_by("seq")).ok


@pytest.fixture
def checkpoint(audit_keys, event):
    return checkpoint_if_new()


def _checkpoint_refused(sql: str, params: list | None = None) -> None:
    refused = pytest.raises(DatabaseError, match="audit_checkpoint is append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_checkpoints_cannot_be_updated_deleted_or_truncated_in_sql(checkpoint):
    _checkpoint_refused("UPDATE audit_checkpoint SET head_hash = %s WHERE number = %s", ["f" * 64, checkpoint.number])
    _checkpoint_refused("DELETE FROM audit_checkpoint WHERE number = %s", [checkpoint.number])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _checkpoint_refused("TRUNCATE audit_checkpoint")
    assert AuditCheckpoint.objects.get().head_hash == checkpoint.head_hash
