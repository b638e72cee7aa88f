import pytest

from flowadmin.audit.checkpoints import checkpoint_if_new
from flowadmin.audit.models import AuditCheckpoint, AuditEvent
from flowadmin.audit.services import audit_record

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


@pytest.fixture
def admin_user_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def event():
    return audit_record(action="change.applied", sandbox="prod", detail="applied")


def test_the_admin_lists_audit_events_read_only(admin_user_client, event):
    response = admin_user_client.get(CHANGELIST)

    assert response.status_code == 200
    assert b"change.applied" in response.content
    assert b'name="action"' not in response.content  # no bulk actions, so no "delete selected"
    assert f"{CHANGELIST}add/".encode() not in response.content


def test_the_admin_shows_an_event_without_a_save_button(admin_user_client, event):
    response = admin_user_client.get(f"{CHANGELIST}{event.seq}/change/")

    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b"applied" in response.content


def test_the_admin_refuses_to_add_change_or_delete_events(admin_user_client, event):
    assert admin_user_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_user_client.post(f"{CHANGELIST}{event.seq}/change/", {"detail": "edited"}).status_code == 403
    assert admin_user_client.get(f"{CHANGELIST}{event.seq}/delete/").status_code == 403
    assert admin_user_client.post(f"{CHANGELIST}{event.seq}/delete/", {"post": "yes"}).status_code == 403

    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.detail, stored.hash) == ("applied", event.hash)


def test_the_admin_lists_checkpoints_read_only(admin_user_client, audit_keys, event):
    checkpoint = checkpoint_if_new()
    changelist = "/admin/audit/auditcheckpoint/"

    response = admin_user_client.get(changelist)

    assert response.status_code == 200
    assert checkpoint.digest.encode() in response.content
    assert admin_user_client.get(f"{changelist}add/").status_code == 403
    assert admin_user_client.post(f"{changelist}{checkpoint.number}/delete/", {"post": "yes"}).status_code == 403
    assert AuditCheckpoint.objects.get().digest == checkpoint.digest
