"""The blast radius where decisions are made: the live preview, the form's acknowledgement, the queue,
the request's page and its refresh, over real HTTP against the emulator (sandbox prod)."""

import html
import re

import pytest
from django.urls import reverse

from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP, STAFF_GROUP
from flowadmin.catalog.models import ConnectionSpec, FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes.models import ChangeRequest
from tests.conftest import make_user
from tests.fixtures.emulator import FLOWS, GENERIC_STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"  # a destination
HTMX = {"HTTP_HX_REQUEST": "true"}
EDIT = reverse("changes:edit", args=["prod", GENERIC_STREAMING_ID])
PREVIEW = reverse("changes:preview", args=["prod", GENERIC_STREAMING_ID])


@pytest.fixture(autouse=True)
def _quick(emulator_quick):
    """Faults cost milliseconds here."""


@pytest.fixture
def spec(emulator):
    assert sandbox_sync(sandbox_name="prod").ok
    return FlowSpec.objects.get(sandbox__name="prod", spec_id=GENERIC_STREAMING_ID)


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(make_user(django_user_model, "staff", STAFF_GROUP))
    return client


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def without(spec, *removed, added=()) -> str:
    ids = [spec_id for spec_id in documents.source_ids(spec.document) if spec_id not in removed]
    return "\n".join([*ids, *added])


def test_the_preview_names_the_dataflows_and_the_form_needs_the_acknowledgement(staff_client, spec):
    data = {"source_connection_spec_ids": without(spec, BRAZE), "reason": "Braze is replaced"}

    preview = text_of(staff_client.post(PREVIEW, data, **HTMX))
    assert "Removing Braze Currents affects 3 dataflows in prod (2 enabled): Braze Currents" in preview
    assert preview.index("Braze Currents mobile events to AEP") < preview.index("Braze Currents email events to AEP")
    assert "I have checked these 3 dataflows" in preview

    refused = staff_client.post(EDIT, {**data, "submit": "1"})
    assert refused.status_code == 200 and not ChangeRequest.objects.exists()
    page = text_of(refused)
    assert "affects 2 enabled dataflows in prod (3 in all)" in page and "I have checked these 3 dataflows" in page
    assert "Braze is replaced" in page  # the form keeps what was typed

    staff_client.post(EDIT, {**data, "submit": "1", "acknowledge_impact": "on", "impact_count": "3"})
    change_request = ChangeRequest.objects.get()
    assert change_request.impact_enabled == 2

    queue = text_of(staff_client.get(reverse("changes:queue")))
    assert "2 enabled dataflows" in queue
    detail = text_of(staff_client.get(reverse("changes:detail", args=[change_request.pk])))
    assert "Dataflows that use the removed ids" in detail and "Braze Currents web events to AEP" in detail
    assert "Approvals: 0 of 3" in detail
    assert "2 for a production sandbox, 1 more because 2 enabled dataflows use a removed id" in detail


def test_the_review_page_reads_the_dataflows_again_on_refresh(staff_client, spec, emulator, django_user_model):
    data = {"source_connection_spec_ids": without(spec, BRAZE), "reason": "Braze is replaced", "submit": "1"}
    staff_client.post(EDIT, {**data, "acknowledge_impact": "on", "impact_count": "3"})
    change_request = ChangeRequest.objects.get()
    source = emulator.create_source_connection("prod", BRAZE, name="late source")
    emulator.create_flow("prod", GENERIC_STREAMING_ID, [source["id"]], name="Braze Currents late events")
    staff_client.force_login(make_user(django_user_model, "approver", APPROVERS_GROUP))

    fragment = staff_client.get(reverse("changes:impact", args=[change_request.pk]), **HTMX)
    text = text_of(fragment)
    assert "affects 4 dataflows in prod (3 enabled)" in text
    assert "Braze Currents late events new or enabled since proposed" in text
    assert "applying it stops as stale" in text

    emulator.add_fault(action="respond", method="GET", path=f"*{FLOWS}", status=503)
    failed = text_of(staff_client.get(reverse("changes:impact", args=[change_request.pk]), **HTMX))
    assert "could not be read" in failed and "cannot be applied until they can be read" in failed


def test_the_preview_warns_about_an_added_destination_or_batch_source(staff_client, spec, emulator):
    batch = next(
        document
        for document in emulator.list_all("/data/foundation/flowservice/connectionSpecs", sandbox="prod")
        if document["name"] == "Zoho CRM"
    )
    data = {"source_connection_spec_ids": without(spec, added=[batch["id"], DATA_LAKE]), "reason": "More"}

    text = text_of(staff_client.post(PREVIEW, data, **HTMX))

    assert f"Zoho CRM ({batch['id']}) is a batch source and this flow spec serves streaming sources" in text
    assert f"Data Lake ({DATA_LAKE}) is not a source: its connection spec says isSource false" in text


def test_an_added_id_the_flow_service_does_not_list_is_not_asked_about_at_every_keystroke(staff_client, spec, emulator):
    unlisted = "00000000-0000-4000-8000-000000000777"  # in flowadmin's cache of the sandbox, gone from the service
    ConnectionSpec.objects.create(sandbox=spec.sandbox, spec_id=unlisted, name="Gone since")
    data = {"source_connection_spec_ids": without(spec, added=[unlisted]), "reason": "More"}
    specs = "/data/foundation/flowservice/connectionSpecs"

    staff_client.post(PREVIEW, data, **HTMX)
    reads = len(emulator.log(method="GET", path=f"*{specs}*"))
    again = text_of(staff_client.post(PREVIEW, data, **HTMX))

    assert reads and len(emulator.log(method="GET", path=f"*{specs}*")) == reads
    assert "Gone since" in again


def test_the_preview_says_when_the_dataflows_cannot_be_read_without_retrying_at_every_keystroke(
    staff_client, spec, emulator
):
    emulator.add_fault(action="respond", method="GET", path=f"*{FLOWS}", status=503)
    data = {"source_connection_spec_ids": without(spec, BRAZE), "reason": "Braze is replaced"}

    first = text_of(staff_client.post(PREVIEW, data, **HTMX))
    reads = len(emulator.log(method="GET", path=f"*{FLOWS}"))
    second = text_of(staff_client.post(PREVIEW, data, **HTMX))

    for text in (first, second):
        assert "The dataflows that use the removed ids could not be read" in text
        assert "HTTP 503" in text and "cannot be applied until they can be read" in text
    assert len(emulator.log(method="GET", path=f"*{FLOWS}")) == reads  # the failed reading is shown again
