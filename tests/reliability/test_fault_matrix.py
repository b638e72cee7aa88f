"""Every fault the emulator can inject, against every operation that talks to the Flow Service.

Operations: the sync of a sandbox (the fault on its flow spec listing), approving a change request
(the fault on the PUT), and reconcile_changes settling a request left ``applying`` (the fault on its
read). Reads are retried: a fault that strikes ``READ_FAULT_USES`` times (= FLOWSERVICE_MAX_RETRIES)
is recovered from on the last retry when it is passing trouble, and fails at once otherwise. A PUT is
never repeated once it may have reached the server. For each cell the test asserts the change request,
the cache, the remote document, the audit events and what the user is told; `conftest.py` prints the
outcomes as a table at the end of the run.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field

import pytest
from django.core.management import CommandError, call_command

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, Sandbox
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services, views
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import get_client
from tests.changes.factories import propose
from tests.fixtures.emulator import FLOW_SPECS
from tests.reliability.helpers import (
    ACME_EVENTS,
    ACME_LOYALTY,
    REST_ID,
    STREAMING_ID,
    close_connections,
    quick_retries,
    request_threads,
    spec_path,
    story,
    wait_for_sync_runs,
    wait_until,
)

READ_FAULT_USES = 2
READ_TIMEOUT = 1.0  # seconds, only in the read-timeout cells
DELAY_MS = 3000  # well beyond READ_TIMEOUT


@dataclass(frozen=True)
class Fault:
    label: str
    rule: dict
    on_read: str  # "recovers" (retried), "renews" (token renewed, call repeated once), "fails" (at once)
    on_put: str  # "fails", "renews", "unknown, applied", "unknown, not applied"
    times: int = READ_FAULT_USES
    extra: dict = field(default_factory=dict)

    @property
    def status(self) -> int | None:
        return self.rule.get("status")


RETRIED = ("recovers", "fails")
FAULTS = [
    Fault("429 + Retry-After", {"action": "respond", "status": 429, "shape": "gateway", "retry_after": 1}, *RETRIED),
    Fault("500", {"action": "respond", "status": 500}, "fails", "fails"),
    Fault("502", {"action": "respond", "status": 502, "shape": "html"}, "recovers", "fails"),
    Fault("503", {"action": "respond", "status": 503}, "recovers", "fails"),
    Fault("504", {"action": "respond", "status": 504, "shape": "gateway"}, "recovers", "fails"),
    Fault("read timeout", {"action": "delay", "delay_ms": DELAY_MS}, "recovers", "unknown, applied"),
    Fault("connection reset", {"action": "drop"}, "recovers", "unknown, not applied"),
    Fault("malformed JSON", {"action": "malformed"}, "recovers", "unknown, not applied"),
    Fault("401 (gateway)", {"action": "respond", "status": 401, "shape": "gateway"}, "renews", "renews", times=1),
    Fault("403", {"action": "respond", "status": 403}, "fails", "fails"),
    Fault("404", {"action": "respond", "status": 404}, "fails", "fails"),
    Fault("answer lost (apply_then_drop)", {"action": "apply_then_drop"}, "recovers", "unknown, applied"),
]
IDS = [fault.label for fault in FAULTS]


@pytest.fixture
def remote(emulator, settings):
    """The emulator with sandbox dev cached by a real sync; retries quick; the log empty."""
    before = request_threads()
    quick_retries(settings)
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0
    assert sandbox_sync(sandbox_name="dev").ok
    get_client().auth.token()  # fetched now, outside the faults
    emulator.clear_log()
    yield emulator
    close_connections(emulator, before)


def inject(emulator, settings, fault: Fault, *, method: str, path: str, times: int | None = None) -> None:
    if fault.rule["action"] == "delay":
        settings.FLOWSERVICE_READ_TIMEOUT = READ_TIMEOUT
    emulator.add_fault(method=method, path=path, sandbox="dev", times=times or fault.times, **fault.rule)


def calm(emulator, settings) -> None:
    emulator.clear_faults()
    settings.FLOWSERVICE_READ_TIMEOUT = 30.0


def visible(page: str, pattern: str = r"<main.*?</main>") -> str:
    found = re.search(pattern, page, re.S)
    text = re.sub(r"<[^>]+>", " ", found.group(0) if found else page)
    return " ".join(html.unescape(text).split())


def messages_of(page: str) -> list[str]:
    return [visible(text) for text in re.findall(r'<li class="message[^"]*">(.*?)</li>', page, re.S)]


def carries(document: dict) -> bool:
    return ACME_EVENTS in documents.source_ids(document)


def cached(spec_id: str) -> dict:
    return FlowSpec.objects.get(sandbox__name="dev", spec_id=spec_id).document


def wait_for_delayed_put(emulator) -> None:
    """The emulator logs a call when it has answered it: a delayed PUT shows up once it is done."""
    wait_until(lambda: any(e["status"] for e in emulator.log(method="PUT")), what="the delayed PUT to finish")


# --- sync ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_sync_of_a_sandbox_under_fault(remote, fault, settings, staff_client, matrix):
    body = documents.put_body(remote.document("dev", REST_ID))
    body["sourceConnectionSpecIds"].append(ACME_LOYALTY)  # changed outside flowadmin since the last sync
    assert remote.put(spec_path(REST_ID), json=body).status_code == 200
    changed, kept = remote.document("dev", REST_ID), cached(REST_ID)
    remote.clear_log()
    inject(remote, settings, fault, method="GET", path=FLOW_SPECS)

    started = staff_client.post("/sandboxes/dev/sync/")
    wait_for_sync_runs()
    shown = visible(staff_client.get(started["Location"]).text, r'<section id="sync-progress".*?</section>')
    calm(remote, settings)

    listings = [entry["status"] for entry in remote.log(method="GET", path=FLOW_SPECS)]
    event = AuditEvent.objects.filter(action__startswith="sandbox.sync", sandbox="dev").latest("seq")
    sandbox = Sandbox.objects.get(name="dev")
    if fault.on_read == "fails":
        assert listings == [fault.status]
        assert cached(REST_ID) == kept
        assert (event.action, event.outcome) == ("sandbox.sync_failed", "failure")
        assert str(fault.status) in sandbox.last_sync_error and sandbox.last_sync_error in event.detail
        assert "finished with errors" in shown and sandbox.last_sync_error in shown
        outcome = f"failed at once (HTTP {fault.status}); cache kept"
    else:
        assert cached(REST_ID) == changed
        assert (event.action, event.outcome) == ("sandbox.synced", "success")
        assert sandbox.last_sync_error == ""
        assert "done 1 sandbox synced." in shown
        assert AuditEvent.objects.filter(action="flowspec.changed_remotely", spec_id=REST_ID).count() == 1
        failed = [exchange for exchange in event.exchanges if exchange["url"].endswith("/flowSpecs")][:-1]
        assert len(failed) == fault.times and listings[-1] == 200
        outcome = "synced; token renewed" if fault.on_read == "renews" else f"synced after {fault.times} retries"
    matrix(fault.label, "sync", outcome)


# --- approve / apply ------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_approve_and_apply_under_fault(remote, fault, settings, client, staff_user, approver_user, matrix):
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    change_request = propose(spec, staff_user, add=[ACME_EVENTS])
    before = remote.document("dev", STREAMING_ID)
    remote.clear_log()
    inject(remote, settings, fault, method="PUT", path=spec_path(STREAMING_ID), times=1)
    client.force_login(approver_user)

    page = client.post(f"/changes/{change_request.pk}/approve/", {"digest": change_request.digest}, follow=True)

    told = messages_of(page.text)
    result = ChangeRequest.objects.get(pk=change_request.pk)
    puts = remote.log(method="PUT")
    if fault.on_put == "fails":
        calm(remote, settings)
        [put] = puts
        assert result.status == "failed" and result.error_status == fault.status
        assert result.error_request_id == put["request_id"]
        assert told == [views.FAILED.format(pk=result.pk, error=told[0].split("failed: ", 1)[1].rsplit(".", 2)[0])]
        assert f"(request id {put['request_id']})" in told[0]
        assert remote.document("dev", STREAMING_ID) == before and not carries(cached(STREAMING_ID))
        assert story(result)[-1] == ("change.apply_failed", "failure")
        matrix(fault.label, "approve/apply", f"failed (HTTP {fault.status}); retryable, nothing applied")
        return
    if fault.on_put == "renews":
        calm(remote, settings)
        assert [put["status"] for put in puts] == [401, 200]
        assert result.status == "applied" and told == [views.APPLIED.format(pk=result.pk)]
        assert carries(remote.document("dev", STREAMING_ID)) and carries(cached(STREAMING_ID))
        assert story(result)[-1] == ("change.applied", "success")
        matrix(fault.label, "approve/apply", "applied; token renewed, PUT repeated once")
        return

    # The PUT may have been applied: the request stays "applying" until a read settles it.
    assert result.status == "applying" and result.outcome_unknown
    assert told == [views.UNKNOWN.format(pk=result.pk)]
    assert story(result)[-1] == ("change.apply_failed", "unknown")
    assert not carries(cached(STREAMING_ID))
    if fault.rule["action"] == "delay":
        wait_for_delayed_put(remote)
    calm(remote, settings)
    applied = fault.on_put == "unknown, applied"
    assert carries(remote.document("dev", STREAMING_ID)) is applied
    out = io.StringIO()
    call_command("reconcile_changes", stdout=out)
    settled = ChangeRequest.objects.get(pk=change_request.pk)
    expected = "applied" if applied else "failed"
    assert settled.status == expected
    assert f"#{settled.pk} dev/{STREAMING_ID}: {expected}" in out.getvalue()
    assert carries(cached(STREAMING_ID)) is applied
    assert story(settled)[-1] == ("change.reconciled", "success" if applied else "failure")
    assert len(remote.log(method="PUT")) == 1
    matrix(fault.label, "approve/apply", f"outcome unknown -> reconciled: {expected}")


# --- reconcile ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS, ids=IDS)
def test_reconcile_under_fault(remote, fault, settings, staff_user, approver_user, matrix):
    spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    change_request = propose(spec, staff_user, add=[ACME_EVENTS])
    remote.add_fault(action="apply_then_drop", method="PUT", path=spec_path(STREAMING_ID), times=1)
    left = services.change_request_approve(
        change_request=change_request, reviewer=approver_user, digest=change_request.digest
    )
    assert left.status == "applying" and carries(remote.document("dev", STREAMING_ID))
    remote.clear_log()
    inject(remote, settings, fault, method="GET", path=spec_path(STREAMING_ID))

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("reconcile_changes", stdout=out, stderr=err)
        refused = ""
    except CommandError as error:
        refused = str(error)
    calm(remote, settings)

    settled = ChangeRequest.objects.get(pk=change_request.pk)
    reads = [entry["status"] for entry in remote.log(method="GET", path=spec_path(STREAMING_ID))]
    if fault.on_read == "fails":
        assert reads == [fault.status]
        assert settled.status == "applying"
        assert "could not be settled" in refused and "left applying" in err.getvalue()
        assert f"HTTP {fault.status}" in err.getvalue()
        assert story(settled)[-1] == ("change.apply_failed", "unknown")
        assert not carries(cached(STREAMING_ID))
        call_command("reconcile_changes", stdout=out)  # the next run, the Flow Service back
        assert ChangeRequest.objects.get(pk=change_request.pk).status == "applied"
        outcome = f"left applying (HTTP {fault.status}); next run: applied"
    else:
        assert refused == ""
        assert settled.status == "applied"
        assert f"#{settled.pk} dev/{STREAMING_ID}: applied" in out.getvalue()
        assert carries(cached(STREAMING_ID))
        assert story(settled)[-1] == ("change.reconciled", "success")
        event = AuditEvent.objects.get(change_request_id=settled.pk, action="change.reconciled")
        attempts = [exchange["status"] for exchange in event.exchanges if exchange["url"].endswith(STREAMING_ID)]
        assert len(attempts) == fault.times + 1 and attempts[-1] == 200
        outcome = "applied; token renewed" if fault.on_read == "renews" else f"applied after {fault.times} retries"
    assert len(remote.log(method="PUT")) == 0
    matrix(fault.label, "reconcile", outcome)
