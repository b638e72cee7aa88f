"""A real apply over HTTP to the emulator is signed as soon as it commits, and a failing checkpoint never stops it."""

import io
import logging

import pytest
from django.core.management import call_command

from flowadmin import documents
from flowadmin.audit.models import AuditCheckpoint, AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import get_client
from tests.changes.factories import propose
from tests.fixtures.emulator import GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID


@pytest.fixture
def spec(emulator, settings):
    settings.FLOWSERVICE_MAX_RETRIES = 2
    settings.FLOWSERVICE_BACKOFF = 0.001
    assert sandbox_sync(sandbox_name="dev").ok
    yield FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)
    get_client().close()  # its kept-alive connections hold live-server threads


def approve(spec, staff_user, approver_user) -> ChangeRequest:
    change_request = propose(spec, staff_user, add=[NEW_STREAMING_SOURCE_ID])
    return services.change_request_approve(
        change_request=change_request, reviewer=approver_user, digest=change_request.digest
    )


def test_an_applied_change_is_covered_by_a_signed_checkpoint_once_it_commits(
    audit_keys, spec, staff_user, approver_user, emulator
):
    applied = approve(spec, staff_user, approver_user)

    assert applied.status == "applied"
    event = AuditEvent.objects.get(change_request_id=applied.pk, action="change.applied")
    checkpoint = AuditCheckpoint.objects.order_by("-number").first()
    assert checkpoint.last_seq >= event.seq
    assert (audit_keys.directory / f"checkpoint-{checkpoint.number:012d}.json").exists()
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert f"Verified through #{checkpoint.last_seq}:" in out.getvalue()


def test_an_apply_succeeds_when_its_checkpoint_cannot_be_written(
    audit_keys, spec, staff_user, approver_user, emulator, caplog
):
    audit_keys.directory.parent.mkdir(parents=True, exist_ok=True)
    audit_keys.directory.write_text("not a directory: the checkpoint storage is broken")

    with caplog.at_level(logging.ERROR, logger="flowadmin.audit.checkpoints"):
        applied = approve(spec, staff_user, approver_user)

    assert applied.status == "applied"
    assert NEW_STREAMING_SOURCE_ID in documents.source_ids(emulator.document("dev", GENERIC_STREAMING_ID))
    assert AuditEvent.objects.filter(change_request_id=applied.pk, action="change.applied").exists()
    assert "An audit checkpoint could not be written after an apply" in caplog.text
