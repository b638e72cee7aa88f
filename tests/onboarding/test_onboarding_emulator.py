"""The "Onboard a source" page over real HTTP against the emulator: find, rank, submit, approve, apply."""

import html

import pytest
from django.urls import reverse

from flowadmin import documents
from flowadmin.catalog.models import ConnectionSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services as changes
from flowadmin.changes.models import ChangeRequest
from flowadmin.onboarding.services import LOOKUP_FAILED, REMOTE_UNKNOWN
from flowadmin.rollouts import services as rollouts
from flowadmin.rollouts.models import Rollout
from tests.conftest import make_user
from tests.fixtures.emulator import CONNECTION_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

ONBOARD = reverse("onboarding:onboard")
SUBMIT = reverse("onboarding:submit")
STREAMING_PROVIDER_ID = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
CRM_TO_AEP_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
NOBODY_KNOWS = "0b0b0b0b-0000-4000-8000-00000000abcd"


@pytest.fixture(autouse=True)
def _quick_retries(emulator_quick):
    """Faults cost milliseconds here."""


@pytest.fixture
def synced(emulator):
    for sandbox in ("dev", "stage", "prod"):
        assert sandbox_sync(sandbox_name=sandbox).ok
    emulator.clear_log()


@pytest.fixture
def staff(client, django_user_model):
    user = make_user(django_user_model, "staff", "Onboarding staff")
    client.force_login(user)
    return client


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_a_new_connection_spec_is_found_live_with_its_facts_and_ranked_flow_specs(emulator, synced, staff):
    created = emulator.create_connection_spec(
        "dev",
        name="Acme Clickstream",
        providerId=STREAMING_PROVIDER_ID,
        attributes={"category": "Analytics", "isSource": True, "frequency": "streaming"},
    )

    text = page_text(staff.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": created["id"].upper()}))

    assert "Acme Clickstream" in text and "Adobe streaming sources" in text
    assert "Analytics" in text and "streaming" in text
    assert "looked up in its Flow Service just now" in text
    assert ConnectionSpec.objects.filter(sandbox__name="dev", spec_id=created["id"]).exists()
    rows = text.split('id="suggestion-')[1:]
    assert rows[0].startswith(GENERIC_STREAMING_ID)  # the streaming flow spec with Analytics sources ranks first
    assert "already carries 2 Analytics sources: Pendo, Mixpanel" in rows[0]
    crm = next(row for row in rows if row.startswith(CRM_TO_AEP_ID))
    assert "does not fit" in crm and "the source is streaming, the flow spec batch" in crm


def test_where_a_source_is_attached_is_shown_per_sandbox(emulator, synced, staff):
    braze = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
    text = page_text(staff.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": braze}))
    assert "GenericStreamingAEP in dev, stage, prod" in " ".join(text.split())
    assert f'id="placement-{GENERIC_STREAMING_ID}-dev"' in text


def test_the_picker_offers_connection_specs_no_flow_spec_uses(emulator, synced, staff):
    text = page_text(staff.get(ONBOARD, {"sandbox": "dev"}))
    assert f'<option value="{NEW_STREAMING_SOURCE_ID}"' in text


def test_an_id_the_flow_service_does_not_know_is_refused_with_that_reason(emulator, synced, staff):
    text = page_text(staff.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": NOBODY_KNOWS}))
    assert REMOTE_UNKNOWN.format(id=NOBODY_KNOWS, sandbox="dev") in text
    assert 'id="onboard-form"' not in text


def test_a_failed_lookup_says_so_and_keeps_what_was_typed(emulator, synced, staff):
    emulator.add_fault(action="respond", method="GET", path=f"{CONNECTION_SPECS}/*", status=503, times=10)
    text = page_text(staff.get(ONBOARD, {"sandbox": "dev", "connection_spec_id": NOBODY_KNOWS}))
    assert LOOKUP_FAILED.format(id=NOBODY_KNOWS, sandbox="dev", why="").split(", and")[0] in text
    assert "failed (HTTP 503" in text
    assert f'value="{NOBODY_KNOWS}"' in text
    assert not ConnectionSpec.objects.filter(spec_id=NOBODY_KNOWS).exists()


def test_one_submission_makes_a_rollout_across_sandboxes_that_is_approved_and_applied(
    emulator, synced, staff, django_user_model
):
    response = staff.post(
        SUBMIT,
        {
            "connection_spec_id": NEW_STREAMING_SOURCE_ID,
            "sandbox": "dev",
            "flow_specs": [GENERIC_STREAMING_ID],
            "sandboxes": ["dev", "stage"],
            "reason": "Acme Events goes live",
        },
    )
    rollout = Rollout.objects.get()
    assert response.status_code == 302 and response.url == reverse("rollouts:detail", args=[rollout.pk])
    steps = list(rollout.steps.order_by("position"))
    assert [step.sandbox for step in steps] == ["dev", "stage"]
    assert all(step.change_request.reason == "Acme Events goes live" for step in steps)

    approver = make_user(django_user_model, "approver", "Approvers")
    rollouts.rollout_approve(rollout=rollout, approver=approver, digest=rollout.digest)
    assert Rollout.objects.get().status == Rollout.Status.COMPLETED
    for sandbox in ("dev", "stage"):
        assert NEW_STREAMING_SOURCE_ID in documents.source_ids(emulator.document(sandbox, GENERIC_STREAMING_ID))
    assert NEW_STREAMING_SOURCE_ID not in documents.source_ids(emulator.document("prod", GENERIC_STREAMING_ID))


def test_one_sandbox_makes_a_change_request_per_flow_spec_approved_and_applied_without_a_sync(
    emulator, synced, staff, django_user_model
):
    created = emulator.create_connection_spec(
        "dev",
        name="Acme Clickstream",
        providerId=STREAMING_PROVIDER_ID,
        attributes={"category": "Analytics", "isSource": True, "frequency": "streaming"},
    )
    response = staff.post(
        SUBMIT,
        {
            "connection_spec_id": created["id"],
            "sandbox": "dev",
            "flow_specs": [GENERIC_STREAMING_ID],
            "sandboxes": ["dev"],
            "reason": "Acme Clickstream goes live",
        },
    )
    change_request = ChangeRequest.objects.get()
    assert response.status_code == 302 and response.url == reverse("changes:detail", args=[change_request.pk])
    assert change_request.added_ids == [created["id"]]
    detail = page_text(staff.get(response.url))
    assert "Acme Clickstream" in detail

    approver = make_user(django_user_model, "approver", "Approvers")
    applied = changes.change_request_approve(
        change_request=change_request, reviewer=approver, digest=change_request.digest
    )
    assert applied.status == ChangeRequest.Status.APPLIED
    assert created["id"] in documents.source_ids(emulator.document("dev", GENERIC_STREAMING_ID))
    assert not emulator.log(method="GET", path="/data/foundation/flowservice/flowSpecs")  # no sync in between


def test_a_sandbox_whose_flow_service_lacks_the_source_refuses_the_whole_submission_and_keeps_the_form(
    emulator, synced, staff
):
    created = emulator.create_connection_spec(  # in dev only: stage's Flow Service does not know it
        "dev", name="Acme Clickstream", providerId=STREAMING_PROVIDER_ID, attributes={"frequency": "streaming"}
    )
    response = staff.post(
        SUBMIT,
        {
            "connection_spec_id": created["id"],
            "sandbox": "dev",
            "flow_specs": [GENERIC_STREAMING_ID],
            "sandboxes": ["dev", "stage"],
            "reason": "Keep me",
        },
    )
    text = page_text(response)
    assert response.status_code == 200
    assert not ChangeRequest.objects.exists() and not Rollout.objects.exists()
    assert REMOTE_UNKNOWN.format(id=created["id"], sandbox="stage") in text
    assert "Keep me" in text
    assert f'value="{GENERIC_STREAMING_ID}" id="onboard-flowspec-{GENERIC_STREAMING_ID}" checked' in text
    assert 'value="stage" id="onboard-sandbox-stage" checked' in text


def test_a_submission_without_reason_or_ticks_says_what_is_missing(emulator, synced, staff):
    response = staff.post(SUBMIT, {"connection_spec_id": NEW_STREAMING_SOURCE_ID, "sandbox": "dev"})
    text = page_text(response)
    assert "Tick at least one flow spec" in text and "Tick at least one sandbox" in text
    assert "Say why this source is onboarded" in text
    assert not ChangeRequest.objects.exists()
