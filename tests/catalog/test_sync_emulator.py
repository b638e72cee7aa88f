"""Syncs against the embedded emulator over real HTTP: the cache follows the remote, faults stay contained."""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog import selectors
from flowadmin.catalog.errors import UNKNOWN_SANDBOX
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, Sandbox, SyncRun
from flowadmin.catalog.services import sandbox_sync, sandboxes_sync, sync_run_start
from flowadmin.flowservice import get_client
from flowadmin.flowservice.client import FlowServiceClient
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID, SANDBOXES

CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
WAIT_SECONDS = 60


@pytest.fixture(autouse=True)
def _client_connections_closed(emulator):
    """The shared client keeps HTTP connections alive, and with them the live server's threads and their
    database connections: close them after each test so the test database can be dropped."""
    yield
    get_client().close()


def emulator_remove(sandbox: str, spec_id: str) -> None:
    """The Flow Service has no DELETE: remove the document from the emulator's own tables."""
    from flowadmin.emulator.models import FlowSpecDocument

    assert FlowSpecDocument.objects.filter(sandbox__name=sandbox, spec_id=spec_id).delete()[0] == 1


def listings(emulator, sandbox: str) -> int:
    return len(emulator.log(method="GET", sandbox=sandbox, path=FLOW_SPECS))


def test_a_first_sync_caches_every_active_sandbox_with_its_specs_and_connection_specs(emulator):
    results = {result.sandbox: result for result in sandboxes_sync()}

    assert set(results) == {"prod", "dev", "stage"}
    assert all(result.ok for result in results.values())
    assert Sandbox.objects.get(name="prod").type == "production"
    assert Sandbox.objects.get(name="legacy-dev").state != "active"
    for name in ("prod", "dev", "stage"):
        assert results[name].new == FlowSpec.objects.filter(sandbox__name=name).count() >= 6
        assert ConnectionSpec.objects.filter(sandbox__name=name).count() >= 20
    cached = FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)
    assert cached.name == "GenericStreamingAEP"
    assert cached.document == emulator.document("dev", GENERIC_STREAMING_ID)


def test_a_later_sync_sees_new_changed_unchanged_and_vanished_specs(emulator):
    sandbox_sync(sandbox_name="dev")
    total = FlowSpec.objects.filter(sandbox__name="dev").count()
    document = emulator.document("dev", GENERIC_STREAMING_ID)
    before = FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID).document
    document["sourceConnectionSpecIds"].append(NEW_STREAMING_SOURCE_ID)
    assert emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=document, sandbox="dev").status_code == 200
    emulator_remove("dev", CRM_TO_AEP)
    body = {key: value for key, value in documents.put_body(before).items() if key != "id"}
    created = emulator.post(FLOW_SPECS, json={**body, "name": "BrandNewToAEP"}, sandbox="dev")
    assert created.status_code == 201
    new_id = created.json()["id"]

    result = sandbox_sync(sandbox_name="dev")

    assert (result.new, result.changed, result.unchanged, result.vanished) == (1, 1, total - 2, 1)
    changed = FlowSpec.objects.get(sandbox__name="dev", spec_id=GENERIC_STREAMING_ID)
    assert NEW_STREAMING_SOURCE_ID in changed.document["sourceConnectionSpecIds"]
    assert changed.versions.count() == 2
    assert FlowSpec.objects.get(sandbox__name="dev", spec_id=CRM_TO_AEP).vanished_at is not None
    assert FlowSpec.objects.filter(sandbox__name="dev", spec_id=new_id, name="BrandNewToAEP").exists()
    event = AuditEvent.objects.get(action="flowspec.changed_remotely")
    assert (event.sandbox, event.spec_id) == ("dev", GENERIC_STREAMING_ID)
    assert event.before == before and NEW_STREAMING_SOURCE_ID in event.after["sourceConnectionSpecIds"]
    found = selectors.flowspec_list(sandbox="dev", query=NEW_STREAMING_SOURCE_ID)
    assert [spec.spec_id for spec in found] == [GENERIC_STREAMING_ID]


def test_a_fault_mid_sync_keeps_that_sandbox_s_cache_while_the_others_succeed(emulator):
    sandboxes_sync()
    prod_before = list(
        FlowSpec.objects.filter(sandbox__name="prod").values_list("spec_id", "content_hash", "fetched_at")
    )
    emulator.add_fault(
        action="respond", method="GET", path="/data/foundation/flowservice/connectionSpecs", sandbox="prod", status=500
    )

    results = {result.sandbox: result for result in sandboxes_sync()}

    assert results["dev"].ok and results["stage"].ok
    assert not results["prod"].ok
    assert list(FlowSpec.objects.filter(sandbox__name="prod").values_list("spec_id", "content_hash", "fetched_at")) == (
        prod_before
    )
    prod = Sandbox.objects.get(name="prod")
    assert "HTTP 500" in prod.last_sync_error
    failed = AuditEvent.objects.get(action="sandbox.sync_failed")
    assert failed.sandbox == "prod" and failed.outcome == "failure"
    assert failed.http[-1]["status"] == 500 and failed.http[-1]["url"].endswith("/connectionSpecs")
    # The first sync filled three caches (an event each); the second changed nothing in dev and stage: no event.
    assert AuditEvent.objects.filter(action="sandbox.synced").count() == 3


def test_two_concurrent_syncs_of_one_sandbox_list_it_only_once(emulator, monkeypatch):
    Sandbox.objects.create(name="dev")
    inside, release = threading.Event(), threading.Event()
    original = FlowServiceClient.list_connection_specs

    def held(self, sandbox, **kwargs):
        inside.set()
        assert release.wait(WAIT_SECONDS)
        return original(self, sandbox, **kwargs)

    monkeypatch.setattr(FlowServiceClient, "list_connection_specs", held)
    starts = {}

    def start(key):
        try:
            starts[key] = sync_run_start(sandbox_name="dev", background=False)
        finally:
            connection.close()

    first = threading.Thread(target=start, args=("first",))
    first.start()
    assert inside.wait(WAIT_SECONDS)
    second = threading.Thread(target=start, args=("second",))
    second.start()
    second.join(WAIT_SECONDS)
    release.set()
    first.join(WAIT_SECONDS)

    assert starts["first"].created and not starts["second"].created
    assert starts["second"].run.pk == starts["first"].run.pk, "the second click is shown the same run"
    assert listings(emulator, "dev") == 1
    assert SyncRun.objects.count() == 1


def test_sync_now_runs_in_the_background_and_the_polled_fragment_stops_when_it_is_done(emulator, staff_client):
    response = staff_client.post(reverse("catalog:sync"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = SyncRun.objects.get()
    url = reverse("catalog:sync_run", args=[run.pk])

    deadline = time.monotonic() + WAIT_SECONDS
    fragment = response.content.decode()
    while 'hx-trigger="every 1s"' in fragment and time.monotonic() < deadline:
        time.sleep(0.2)
        fragment = staff_client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 1s"' not in fragment
    assert "3 sandboxes synced" in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert FlowSpec.objects.filter(sandbox__name="stage").exists()
    assert not Sandbox.objects.exclude(sync_lease_token="").exists()


def test_the_sync_command_reports_each_sandbox_and_fails_when_one_does(emulator):
    emulator.add_fault(
        action="respond", method="GET", path="/data/foundation/flowservice/connectionSpecs", sandbox="stage", status=500
    )
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 3"):
        call_command("sync_flowspecs", stdout=out)

    lines = out.getvalue().splitlines()
    assert any(line.startswith("dev: ok (") for line in lines)
    assert any(line.startswith("prod: ok (") for line in lines)
    assert any(line.startswith("stage: failed (") and "HTTP 500" in line for line in lines)
    assert lines[-1] == "3 sandbox(es): 2 ok, 1 failed."


def test_a_sandbox_being_retried_says_why_and_which_attempt_while_it_waits(emulator, settings):
    from flowadmin.catalog.models import SyncRunSandbox

    settings.FLOWSERVICE_MAX_RETRIES = 3
    settings.FLOWSERVICE_BACKOFF_MAX = 5
    emulator.add_fault(
        action="respond", method="GET", path=FLOW_SPECS, sandbox="dev", status=503, retry_after=2, times=1
    )
    run = SyncRun.objects.create(scope="dev", token="retry-note-test")
    seen: list[str] = []
    syncing = threading.Thread(target=lambda: (sandboxes_sync(names=["dev"], run=run), connection.close()))
    syncing.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while syncing.is_alive() and time.monotonic() < deadline:
        note = SyncRunSandbox.objects.filter(run=run, sandbox_name="dev").values_list("note", flat=True).first()
        if note and note not in seen:
            seen.append(note)
        time.sleep(0.05)
    syncing.join(WAIT_SECONDS)

    assert seen == ["retrying after HTTP 503 (attempt 2 of 4)"]
    item = SyncRunSandbox.objects.get(run=run, sandbox_name="dev")
    assert (item.state, item.note) == ("succeeded", ""), "the note goes when the sandbox is done"


def test_with_request_slots_to_spare_a_sandbox_s_connection_specs_are_listed_while_its_flow_specs_are(emulator):
    # The flow specs answer 2 s late: listed one after the other, the connection specs would be asked
    # for (and answered) only after them; side by side, their answer comes first.
    emulator.add_fault(action="delay", delay_ms=2000, method="GET", path=FLOW_SPECS, sandbox="dev", times=1)

    (result,) = sandboxes_sync(names=["dev"])

    assert result.ok and result.new
    (flow_specs,) = emulator.log(method="GET", sandbox="dev", path=FLOW_SPECS)
    (connection_specs,) = emulator.log(method="GET", sandbox="dev", path="/data/foundation/flowservice/connectionSpecs")
    assert connection_specs["at"] < flow_specs["at"]
    assert ConnectionSpec.objects.filter(sandbox__name="dev").exists()


def test_named_sandboxes_never_seen_are_listed_while_the_sandbox_api_is_asked_whether_they_exist(emulator):
    # The Sandbox API answers 1.5 s late: asked first and waited for, it would be answered before the
    # flow specs are even asked for; listed ahead, their answers come first. A name it does not list
    # is still refused, and nothing is cached for it.
    assert not Sandbox.objects.exists()
    emulator.add_fault(action="delay", delay_ms=1500, method="GET", path=SANDBOXES, times=1)

    results = {result.sandbox: result for result in sandboxes_sync(names=["dev", "Stage", "nosuch"])}

    assert results["dev"].ok and results["dev"].new and results["stage"].ok
    assert (results["nosuch"].ok, results["nosuch"].error) == (False, UNKNOWN_SANDBOX)
    (listing,) = emulator.log(method="GET", path=SANDBOXES)
    for name in ("dev", "stage"):
        (flow_specs,) = emulator.log(method="GET", sandbox=name, path=FLOW_SPECS)
        assert flow_specs["at"] < listing["at"]
    assert FlowSpec.objects.filter(sandbox__name="stage").exists()
    assert ConnectionSpec.objects.filter(sandbox__name="dev").exists()
    assert not Sandbox.objects.filter(name="nosuch").exists()
