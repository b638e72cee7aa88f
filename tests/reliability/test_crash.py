"""A server process killed (SIGKILL) in the middle of an approval: after a restart, reconcile_changes
settles the request to what really happened, and nothing needs repairing by hand.

Two real processes: the *remote* (a server running only as the emulator, standing in for Adobe) and
the *dashboard* (flowadmin, its own database, pointed at the remote). The remote holds the dashboard's
call with a delay fault; the dashboard is killed while the call is in flight; the remote carries on.
"""

from __future__ import annotations

import threading

import pytest
import requests

from tests.fixtures.emulator import FLOW_SPECS, Emulator
from tests.reliability.helpers import ACME_EVENTS, ACME_LOYALTY, REST_ID, STREAMING_ID, WAIT_SECONDS, wait_until
from tests.reliability.servers import User

HOLD_MS = 4000  # the remote holds the call this long: the kill lands inside it

STATUS = """
from flowadmin.changes.models import ChangeRequest
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
cr = ChangeRequest.objects.get(pk={pk})
spec = FlowSpec.objects.get(sandbox__name="dev", spec_id=cr.spec_id)
out = {{
    "status": cr.status,
    "error_code": cr.error_code,
    "open": ChangeRequest.objects.filter(spec_id=cr.spec_id, status__in=["pending", "approved", "applying"]).count(),
    "cached_ids": spec.document["sourceConnectionSpecIds"],
    "story": list(AuditEvent.objects.filter(change_request_id=cr.pk).order_by("seq").values_list("action", "outcome")),
}}
"""


@pytest.fixture
def remote(remote_server):
    return remote_server


@pytest.fixture
def dashboard(dashboard_server):
    return dashboard_server


@pytest.fixture
def api(remote):
    api = Emulator.at(remote.url)
    api.clear_log()
    yield api
    api.clear_faults()
    api.close()


def remote_ids(api, spec_id: str) -> list[str]:
    response = api.call("GET", f"{FLOW_SPECS}/{spec_id}", sandbox="dev")
    return response.json()["items"][0]["sourceConnectionSpecIds"]


def propose(dashboard, api, spec_id: str, new_id: str) -> int:
    staff = User(dashboard.url, "staff")
    ids = "\n".join([*remote_ids(api, spec_id), new_id])
    edit = f"/sandboxes/dev/flowspecs/{spec_id}/edit/"
    response = staff.post(edit, {"source_connection_spec_ids": ids, "reason": "Onboard it"}, page=edit)
    staff.close()
    assert response.status_code == 302, response.text[-2000:]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def approve_and_kill_midway(dashboard, api, pk: int, **hold) -> None:
    """Approve #pk; while the remote holds the call matching ``hold``, SIGKILL the dashboard."""
    approver = User(dashboard.url, "approver")
    page = approver.get(f"/changes/{pk}/").text
    digest = page.split('name="digest" value="', 1)[1][:64]
    api.add_fault(action="delay", delay_ms=HOLD_MS, times=1, sandbox="dev", **hold)
    answered: list = []

    def click():
        try:
            answered.append(approver.post(f"/changes/{pk}/approve/", {"digest": digest}, page=f"/changes/{pk}/"))
        except requests.RequestException as error:
            answered.append(error)

    clicking = threading.Thread(target=click)
    clicking.start()
    wait_until(lambda: not api.faults(), what="the approval's call to reach the remote")
    dashboard.kill()
    clicking.join(WAIT_SECONDS)
    approver.close()
    assert len(answered) == 1 and isinstance(answered[0], requests.ConnectionError), "the click got no answer"


def test_killed_while_the_put_is_in_flight_reconcile_settles_it_as_applied(dashboard, api):
    pk = propose(dashboard, api, STREAMING_ID, ACME_EVENTS)

    approve_and_kill_midway(dashboard, api, pk, method="PUT", path=f"{FLOW_SPECS}/{STREAMING_ID}")
    wait_until(lambda: any(entry["status"] for entry in api.log(method="PUT")), what="the remote to finish the PUT")
    dashboard.restart()

    left = dashboard.query(STATUS.format(pk=pk))
    assert left["status"] == "applying"
    assert left["story"][-1] == ["change.apply_started", "success"]  # the kill left no outcome behind
    assert ACME_EVENTS in remote_ids(api, STREAMING_ID)

    settled = dashboard.manage("reconcile_changes")
    assert settled.returncode == 0, settled.stderr
    assert f"#{pk} dev/{STREAMING_ID}: applied" in settled.stdout

    after = dashboard.query(STATUS.format(pk=pk))
    assert after["status"] == "applied" and after["open"] == 0
    assert ACME_EVENTS in after["cached_ids"]
    assert after["story"][-1] == ["change.reconciled", "success"]
    assert len(api.log(method="PUT")) == 1
    verified = dashboard.manage("audit_verify")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout


def test_killed_before_the_put_was_sent_reconcile_settles_it_as_failed_and_a_retry_applies_it(dashboard, api):
    pk = propose(dashboard, api, REST_ID, ACME_LOYALTY)

    approve_and_kill_midway(dashboard, api, pk, method="GET", path=f"{FLOW_SPECS}/{REST_ID}")
    dashboard.restart()

    assert dashboard.query(STATUS.format(pk=pk))["status"] == "applying"
    settled = dashboard.manage("reconcile_changes")
    assert settled.returncode == 0, settled.stderr
    assert f"#{pk} dev/{REST_ID}: failed" in settled.stdout
    failed = dashboard.query(STATUS.format(pk=pk))
    assert failed["status"] == "failed" and failed["error_code"] == "not-applied"
    assert ACME_LOYALTY not in remote_ids(api, REST_ID) and api.log(method="PUT") == []

    approver = User(dashboard.url, "approver")
    retried = approver.post(f"/changes/{pk}/retry/", page=f"/changes/{pk}/")
    approver.close()
    assert retried.status_code == 302

    after = dashboard.query(STATUS.format(pk=pk))
    assert after["status"] == "applied" and ACME_LOYALTY in after["cached_ids"]
    assert ACME_LOYALTY in remote_ids(api, REST_ID)
    assert [entry["status"] for entry in api.log(method="PUT")] == [200]
    verified = dashboard.manage("audit_verify")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout
