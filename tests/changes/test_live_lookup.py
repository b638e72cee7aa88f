"""Connection specs created after the last sync, proposed at once: the id is looked up live over HTTP.

A connection spec made through the emulator's `POST /connectionSpecs` is not in the cache until the
next sync; the edit page, its preview, the services and a rollout's plan ask the sandbox's Flow
Service for it, accept it with its name, and refuse only ids the Flow Service does not know.
"""

import html

import pytest
from django.urls import reverse

from flowadmin import documents
from flowadmin.catalog.models import ConnectionSpec, FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services
from flowadmin.changes.ids import FOUND_NOW, LOOKUP_FAILED, REMOTE_UNKNOWN
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import services as rollouts
from flowadmin.rollouts.plan import FOUND_NOW_HERE, rollout_plan
from flowadmin.rollouts.selectors import rollout_candidates
from tests.conftest import make_user
from tests.fixtures.emulator import CONNECTION_SPECS, GENERIC_STREAMING_ID

STREAMING_PROVIDER_ID = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
NOBODY_KNOWS = "0b0b0b0b-0000-4000-8000-00000000abcd"
EDIT = reverse("changes:edit", args=["dev", GENERIC_STREAMING_ID])
PREVIEW = reverse("changes:preview", args=["dev", GENERIC_STREAMING_ID])
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _quick_retries(emulator_quick):
    """Faults cost milliseconds here."""


@pytest.fixture
def synced(emulator):
    for sandbox in ("dev", "stage"):
        assert sandbox_sync(sandbox_name=sandbox).ok
    emulator.clear_log()


def new_streaming_source(emulator, sandbox="dev", name="Acme Clickstream") -> str:
    document = emulator.create_connection_spec(
        sandbox,
        name=name,
        providerId=STREAMING_PROVIDER_ID,
        attributes={"category": "Analytics", "isSource": True, "frequency": "streaming"},
    )
    return document["id"]


def copy_to_sandbox(spec_id: str, source: str, target: str) -> None:
    """The emulator's POST always mints a new id: the same connection spec in a second sandbox is
    written into the emulator's store directly (as its seed data is)."""
    from flowadmin.emulator.models import ConnectionSpecDocument, RemoteSandbox

    row = ConnectionSpecDocument.objects.get(sandbox__name=source, spec_id=spec_id)
    ConnectionSpecDocument.objects.create(
        sandbox=RemoteSandbox.objects.get(name=target), spec_id=spec_id, document=row.document
    )


def ids_with(*extra: str) -> str:
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)
    return "\n".join([*documents.source_ids(spec.document), *extra])


def lookups(emulator) -> list[dict]:
    return emulator.log(method="GET", path=CONNECTION_SPECS + "/*")


def test_a_connection_spec_created_after_the_sync_is_proposed_previewed_approved_and_applied(
    emulator, synced, client, django_user_model
):
    new_id = new_streaming_source(emulator)
    staff = make_user(django_user_model, "staff", "Onboarding staff")
    approver = make_user(django_user_model, "approver", "Approvers")
    client.force_login(staff)

    preview = html.unescape(client.post(PREVIEW, {"source_connection_spec_ids": ids_with(new_id)}, **HTMX).text)
    line = len(ids_with(new_id).splitlines())
    assert FOUND_NOW.format(line=line, id=new_id, sandbox="dev", name="Acme Clickstream") in preview
    assert "is not a connection spec" not in preview
    assert "Acme Clickstream" in preview and "curl -X PUT" in preview
    cached = ConnectionSpec.objects.get(sandbox__name="dev", spec_id=new_id)
    assert (cached.name, cached.category, cached.frequency) == ("Acme Clickstream", "Analytics", "streaming")

    response = client.post(EDIT, {"source_connection_spec_ids": ids_with(new_id), "reason": "Acme goes live"})
    change_request = ChangeRequest.objects.get()
    assert response.status_code == 302 and change_request.added_ids == [new_id]
    assert len(lookups(emulator)) == 1  # asked once: the answer is cached

    applied = services.change_request_approve(
        change_request=change_request, reviewer=approver, digest=change_request.digest
    )
    assert applied.status == ChangeRequest.Status.APPLIED
    assert new_id in documents.source_ids(emulator.document("dev", GENERIC_STREAMING_ID))
    assert not emulator.log(method="GET", path="/data/foundation/flowservice/flowSpecs")  # no sync in between


def test_an_id_the_flow_service_does_not_know_is_refused_with_that_reason(emulator, synced, staff_client):
    typed = ids_with(NOBODY_KNOWS)
    line = len(typed.splitlines())
    reason = REMOTE_UNKNOWN.format(line=line, id=NOBODY_KNOWS, sandbox="dev")

    preview = html.unescape(staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX).text)
    page = html.unescape(staff_client.post(EDIT, {"source_connection_spec_ids": typed, "reason": "Acme"}).text)

    assert reason in preview and reason in page
    assert "the Flow Service of sandbox “dev” does not know it" in reason
    assert not ChangeRequest.objects.exists()
    assert not ConnectionSpec.objects.filter(spec_id=NOBODY_KNOWS).exists()


def test_a_failed_lookup_says_so_stores_nothing_and_keeps_what_was_typed(emulator, synced, staff_client):
    new_id = new_streaming_source(emulator)
    emulator.add_fault(action="respond", method="GET", path=f"{CONNECTION_SPECS}/{new_id}", status=503, times=10)
    typed = ids_with(new_id)
    line = len(typed.splitlines())

    page = html.unescape(
        staff_client.post(EDIT, {"source_connection_spec_ids": typed, "reason": "Acme Clickstream goes live"}).text
    )

    expected = LOOKUP_FAILED.format(line=line, id=new_id, sandbox="dev", why="").removesuffix(".")
    assert expected in page
    assert "failed (HTTP 503" in page and "try again" in page
    assert new_id in page and "Acme Clickstream goes live" in page  # the form keeps what was typed
    assert not ChangeRequest.objects.exists()
    assert not ConnectionSpec.objects.filter(spec_id=new_id).exists()

    emulator.clear_faults()
    again = staff_client.post(EDIT, {"source_connection_spec_ids": typed, "reason": "Acme Clickstream goes live"})
    assert again.status_code == 302 and ChangeRequest.objects.get().added_ids == [new_id]


def test_an_id_found_unknown_is_not_asked_again_at_every_keystroke(emulator, synced, staff_client, settings):
    typed = ids_with(NOBODY_KNOWS)
    reason = REMOTE_UNKNOWN.format(line=len(typed.splitlines()), id=NOBODY_KNOWS, sandbox="dev")

    first = html.unescape(staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX).text)
    again = html.unescape(staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX).text)

    assert reason in first and reason in again
    assert len(lookups(emulator)) == 1, "asked once, then remembered for FLOWADMIN_LOOKUP_MISS_SECONDS"
    settings.FLOWADMIN_LOOKUP_MISS_SECONDS = 0
    staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX)
    assert len(lookups(emulator)) == 2, "0 asks every time"


def test_lookups_are_bounded_and_each_id_is_asked_once(emulator, synced, staff_client, settings):
    settings.FLOWADMIN_LOOKUP_MAX = 3
    unknown = [f"0b0b0b0b-0000-4000-8000-{number:012d}" for number in range(1, 8)]
    typed = ids_with(*unknown, unknown[0].upper())

    staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX)

    asked = [entry["path"].rsplit("/", 1)[-1] for entry in lookups(emulator)]
    assert asked == unknown[:3]
    emulator.clear_log()
    staff_client.post(PREVIEW, {"source_connection_spec_ids": ids_with("not-an-id", "{" + unknown[0] + "}")}, **HTMX)
    assert lookups(emulator) == []  # malformed lines are never looked up


def test_a_rollout_looks_the_new_id_up_in_every_sandbox(emulator, synced, django_user_model):
    new_id = new_streaming_source(emulator, "dev")
    copy_to_sandbox(new_id, "dev", "stage")
    staff = make_user(django_user_model, "staff", "Onboarding staff")

    specs = [spec for spec in rollout_candidates(spec_id=GENERIC_STREAMING_ID) if spec.sandbox.name != "prod"]
    plans = rollout_plan(specs=specs, added=[new_id], removed=[])
    assert [plan.problems for plan in plans] == [(), ()]
    assert [plan.notes for plan in plans] == [
        (FOUND_NOW_HERE.format(id=new_id, sandbox=plan.sandbox.name, name="Acme Clickstream"),) for plan in plans
    ]

    rollout = rollouts.rollout_propose(
        spec_id=GENERIC_STREAMING_ID,
        sandboxes=["dev", "stage"],
        added=[new_id],
        removed=[],
        reason="Acme goes live",
        author=staff,
    )
    assert [step.change_request.added_ids for step in rollout.steps.order_by("position")] == [[new_id], [new_id]]


def test_after_a_failed_lookup_the_other_ids_are_not_asked(emulator, synced, staff_client):
    first, second = new_streaming_source(emulator, name="First"), new_streaming_source(emulator, name="Second")
    emulator.add_fault(action="respond", method="GET", path=f"{CONNECTION_SPECS}/*", status=503, times=10)
    typed = ids_with(first, second)

    preview = html.unescape(staff_client.post(PREVIEW, {"source_connection_spec_ids": typed}, **HTMX).text)

    assert [entry["path"].rsplit("/", 1)[-1] for entry in lookups(emulator)] == [first, first]  # one retry sequence
    assert preview.count("failed (HTTP 503") == 2  # both lines say why they are refused
    assert not ConnectionSpec.objects.filter(spec_id__in=[first, second]).exists()
