"""Background workers killed with SIGKILL lose nothing: the task is delivered again to the next worker,
which finishes it, and nothing is done twice. And with no cron, a worker syncs and reconciles on schedule.

Real processes, as in production: a remote (a server running only as the emulator, standing in for
Adobe), the dashboard (gunicorn, its own database) and `manage.py qcluster` workers on that database.
The remote holds a worker's call with a delay fault; the worker is killed (its whole process group,
SIGKILL: no finally clause, no acknowledgement) while the call is in flight; another worker is
started. The task timeouts are short (FLOWADMIN_TASK_RETRY 15 s): a task a dead worker took is
delivered again 15 s after it started.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.server import Worker
from tests.fixtures.emulator import FLOW_SPECS, Emulator
from tests.reliability.helpers import ACME_EVENTS, STREAMING_ID, wait_until
from tests.reliability.servers import Server, User

HOLD_MS = 8000  # the remote holds the call this long: the kill lands inside it
ACTIVE = ("dev", "prod", "stage")
RUN_STATE = """
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, SyncRun
run = SyncRun.objects.get(pk={pk})
out = {{
    "runs": SyncRun.objects.count(),
    "finished": run.finished_at is not None,
    "error": run.error,
    "parts": run.parts,
    "items": dict(run.items.values_list("sandbox_name", "state")),
    "synced_events": sorted(AuditEvent.objects.filter(action="sandbox.synced").values_list("sandbox", flat=True)),
    "failed_events": AuditEvent.objects.filter(action="sandbox.sync_failed").count(),
    "cached": {{name: FlowSpec.objects.filter(sandbox__name=name).count() for name in {active!r}}},
}}
"""
ROLLOUT_STATE = """
from flowadmin.audit.models import AuditEvent
from flowadmin.rollouts.models import Rollout
rollout = Rollout.objects.get(pk={pk})
steps = {{step.sandbox: step.change_request for step in rollout.steps.select_related("change_request")}}
out = {{
    "status": rollout.status,
    "steps": {{name: cr.status for name, cr in steps.items()}},
    "stage_story": list(
        AuditEvent.objects.filter(change_request_id=steps["stage"].pk).order_by("seq").values_list("action", "outcome")
    ),
    "completed_events": AuditEvent.objects.filter(action="rollout.completed", detail__startswith="Rollout #{pk}:")
    .count(),
}}
"""


@pytest.fixture(scope="module")
def remote():
    """An emulator of this module's own: the other reliability tests change the shared one's documents."""
    with Server("worker-remote", sqlite=True) as server:
        yield server


@pytest.fixture(scope="module")
def dashboard(remote):
    emulator = remote.url + "/emulator"
    env = {
        "PLATFORM_URL": emulator,
        "IMS_URL": emulator,
        "FLOWADMIN_TASK_TIMEOUT": "10",
        "FLOWADMIN_TASK_RETRY": "15",
        "FLOWADMIN_APPLY_GRACE_SECONDS": "3",
        "FLOWADMIN_SYNC_SCHEDULE_MINUTES": "0",  # on only where a test turns it on
    }
    with Server("worker-dashboard", extra_env=env) as server:
        yield server


@pytest.fixture
def api(remote):
    api = Emulator.at(remote.url)
    api.clear_log()
    yield api
    api.clear_faults()
    api.close()


@pytest.fixture
def workers(dashboard):
    """Start workers on the dashboard's database with ``workers.start()``; all stopped after the test."""
    started: list[Worker] = []

    class Workers:
        def start(self, **extra_env: str) -> Worker:
            worker = Worker(dashboard.environment, dashboard.workdir / f"worker-{len(started) + 1}.log")
            started.append(worker)
            worker.start(extra_env)
            return worker

    yield Workers()
    for worker in started:
        worker.stop()


def page_shows(user: User, path: str, pattern: str) -> bool:
    return re.search(pattern, user.get(path).text, re.DOTALL) is not None


def item_state(name: str, state: str) -> str:
    return rf"<strong>{name}</strong>:\s*<span class=\"badge [a-z-]+\">{state}</span>"


def test_a_worker_killed_mid_sync_leaves_the_run_to_the_next_worker_which_finishes_it_once(dashboard, api, workers):
    api.add_fault(action="delay", method="GET", path=FLOW_SPECS, sandbox="stage", delay_ms=HOLD_MS, times=1)
    first = workers.start(FLOWADMIN_SYNC_PARTS="2")  # dev and prod in one part, stage in the other
    staff = User(dashboard.url, "staff")
    started = staff.post("/sandboxes/sync/", page="/sandboxes/")
    assert started.status_code == 302, started.text[-2000:]
    run_page = started.headers["Location"]
    pk = int(run_page.rstrip("/").rsplit("/", 1)[1])

    # The worker lists stage (held by the remote) while dev and prod are done: then it dies.
    wait_until(lambda: not api.faults(), what="the worker's listing of stage to reach the remote")
    wait_until(
        lambda: all(page_shows(staff, run_page, item_state(name, "succeeded")) for name in ("dev", "prod")),
        what="dev and prod to be synced",
    )
    first.kill()
    left = dashboard.query(RUN_STATE.format(pk=pk, active=ACTIVE))
    assert not left["finished"]
    assert left["items"] == {"dev": "succeeded", "prod": "succeeded", "stage": "running"}
    assert page_shows(staff, run_page, "progressbar|<progress")  # still shown as going

    # Another worker gets stage's part again once the dead one's hold on it expires, and finishes the run.
    workers.start(FLOWADMIN_SYNC_PARTS="2")
    wait_until(lambda: page_shows(staff, run_page, r"badge-ok\">done</span> 3 sandboxes synced"), what="the run to end")
    after = dashboard.query(RUN_STATE.format(pk=pk, active=ACTIVE))
    assert after["runs"] == 1 and after["finished"] and after["error"] == "" and after["parts"] == 2
    assert after["items"] == {name: "succeeded" for name in ACTIVE}
    listings = {name: len(api.log(method="GET", path=FLOW_SPECS, sandbox=name)) for name in ACTIVE}
    assert listings == {"dev": 1, "prod": 1, "stage": 2}, "only the sandbox the dead worker left is listed again"
    remote_counts = {name: len(api.call("GET", FLOW_SPECS, sandbox=name).json()["items"]) for name in ACTIVE}
    assert after["cached"] == remote_counts and all(remote_counts.values())
    # One event per sandbox (each was new), one for the run; none twice.
    assert after["synced_events"] == ["", "dev", "prod", "stage"] and after["failed_events"] == 0
    staff.close()
    verified = dashboard.manage("audit_verify")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout


def test_a_worker_killed_while_a_rollout_step_s_put_is_in_flight_lets_the_next_one_settle_it_and_finish(
    dashboard, api, workers
):
    synced = dashboard.manage("sync_flowspecs")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    staff = User(dashboard.url, "staff")
    new = f"/rollouts/new/?spec_id={STREAMING_ID}"
    form = {"spec_id": STREAMING_ID, "add_ids": ACME_EVENTS, "reason": "Acme events in dev, then stage"}
    form |= {"include_dev": "on", "position_dev": "1", "include_stage": "on", "position_stage": "2"}
    proposed = staff.post("/rollouts/new/", form, page=new)
    staff.close()
    assert proposed.status_code == 302, proposed.text[-2000:]
    rollout_page = proposed.headers["Location"]
    pk = int(rollout_page.rstrip("/").rsplit("/", 1)[1])

    approver = User(dashboard.url, "approver")
    digest = approver.get(rollout_page).text.split('name="digest" value="', 1)[1][:64]
    stage_put = {"method": "PUT", "path": f"{FLOW_SPECS}/{STREAMING_ID}", "sandbox": "stage"}
    api.add_fault(action="delay", delay_ms=HOLD_MS, times=1, **stage_put)
    first = workers.start()
    approved = approver.post(f"/rollouts/{pk}/approve/", {"digest": digest}, page=rollout_page)
    assert approved.status_code == 302  # answered at once: a worker applies it
    assert "Being applied in the background" in approver.get(rollout_page).text

    wait_until(lambda: not api.faults(), what="the worker's PUT to stage to reach the remote")
    first.kill()
    wait_until(lambda: any(entry["status"] for entry in api.log(**stage_put)), what="the remote to finish the PUT")
    left = dashboard.query(ROLLOUT_STATE.format(pk=pk))
    assert left["status"] == "applying"
    assert left["steps"] == {"dev": "applied", "stage": "applying"}
    assert left["stage_story"][-1] == ["change.apply_started", "success"]  # the kill left no outcome behind

    workers.start()
    wait_until(lambda: "completed" in approver.get(rollout_page).text.split("</h1>", 1)[0], what="the rollout to end")
    after = dashboard.query(ROLLOUT_STATE.format(pk=pk))
    approver.close()
    assert after["steps"] == {"dev": "applied", "stage": "applied"}
    assert ["change.reconciled", "success"] in after["stage_story"]  # settled by reading the flow spec back
    assert after["completed_events"] == 1
    spec_path = f"{FLOW_SPECS}/{STREAMING_ID}"
    puts = {name: len(api.log(method="PUT", path=spec_path, sandbox=name)) for name in ("dev", "stage")}
    assert puts == {"dev": 1, "stage": 1}, "no sandbox was sent its PUT twice"
    stage_document = api.call("GET", spec_path, sandbox="stage").json()["items"][0]
    assert ACME_EVENTS in stage_document["sourceConnectionSpecIds"]
    verified = dashboard.manage("audit_verify")
    assert verified.returncode == 0 and "Audit chain intact" in verified.stdout


SCHEDULED = """
from django_q.models import Task
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import SyncRun
runs = SyncRun.objects.filter(scheduled=True, finished_at__isnull=False)
out = {
    "events": AuditEvent.objects.count(),
    "scheduled_runs": [dict(run.items.values_list("sandbox_name", "state")) for run in runs],
    "reconciled": Task.objects.filter(func="flowadmin.changes.tasks.reconcile_changes", success=True).count(),
}
"""


def test_with_no_cron_a_worker_syncs_on_schedule_and_reconciles_and_an_unchanged_sync_adds_no_event(dashboard, workers):
    synced = dashboard.manage("sync_flowspecs")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    dashboard.extra_env["FLOWADMIN_SYNC_SCHEDULE_MINUTES"] = "1"
    try:
        applied = dashboard.manage("task_schedules")
        assert applied.returncode == 0 and "flowadmin:catalog.sync: created, every 1 min" in applied.stdout
        before = dashboard.query(SCHEDULED)

        workers.start()
        wait_until(lambda: dashboard.query(SCHEDULED)["scheduled_runs"], what="a scheduled sync to run")
        after = dashboard.query(SCHEDULED)
    finally:
        dashboard.extra_env["FLOWADMIN_SYNC_SCHEDULE_MINUTES"] = "0"
        dashboard.manage("task_schedules")
    assert after["scheduled_runs"][0] == {name: "succeeded" for name in ACTIVE}
    assert after["reconciled"] > before["reconciled"]  # reconcile_changes ran, every minute, with no cron
    assert after["events"] == before["events"], "a scheduled sync that found nothing changed adds no audit event"
