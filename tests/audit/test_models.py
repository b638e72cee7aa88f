import pytest
from django.db import connection

from flowadmin.audit.chain import chain_check
from flowadmin.audit.models import DELETE_REFUSED, UPDATE_REFUSED, AuditEvent, AuditImmutableError
from flowadmin.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(staff_user):
    return audit_record(action="change.proposed", actor=staff_user, sandbox="prod", detail="original")


def _unchanged(event):
    stored = AuditEvent.objects.get(seq=event.seq)
    return stored.detail == "original" and stored.hash == event.hash


def test_saving_an_existing_event_is_refused(event):
    event.detail = "edited"
    with pytest.raises(AuditImmutableError, match=UPDATE_REFUSED):
        event.save()
    assert _unchanged(event)


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AuditImmutableError, match=DELETE_REFUSED):
        event.delete()
    assert _unchanged(event)


def test_updating_events_through_the_queryset_is_refused(event):
    with pytest.raises(AuditImmutableError, match=UPDATE_REFUSED):
        AuditEvent.objects.filter(seq=event.seq).update(detail="edited")
    with pytest.raises(AuditImmutableError, match=UPDATE_REFUSED):
        AuditEvent.objects.bulk_update([event], ["detail"])
    with pytest.raises(AuditImmutableError, match=UPDATE_REFUSED):
        AuditEvent.objects.update_or_create(seq=event.seq, defaults={"detail": "edited"})
    assert _unchanged(event)


def test_deleting_events_through_the_queryset_is_refused(event):
    with pytest.raises(AuditImmutableError, match=DELETE_REFUSED):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutableError, match=DELETE_REFUSED):
        AuditEvent.objects.filter(seq=event.seq).delete()
    assert _unchanged(event)


def test_deleting_a_user_keeps_their_events_with_the_username(event, staff_user):
    staff_user.delete()

    stored = AuditEvent.objects.get(seq=event.seq)
    assert stored.actor_id is None
    assert stored.actor_username == "staff"
    assert stored.hash == event.hash
    assert chain_check(AuditEvent.objects.order_by("seq")).ok


def test_the_audit_table_has_no_foreign_key_to_change_requests():
    field = AuditEvent._meta.get_field("change_request_id")
    assert not field.is_relation
    assert field.db_index


def test_only_the_view_permission_exists_for_audit_events():
    assert AuditEvent._meta.default_permissions == ("view",)
    assert connection.vendor in ("sqlite", "postgresql")
