"""A background sync run split into parts, one task each, that the worker processes run side by side:
every sandbox synced once, one summary event, and a part delivered again carries on where it stopped.

The tasks are run here as a worker would (`run_queued`); tests/reliability/test_worker_crash.py runs them
in real `qcluster` processes.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_q.models import OrmQ

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog import tasks
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.services import sync_run_start
from tests.catalog.fakes import HTTP_API, STREAMING_ID, connection_spec, flow_spec
from tests.tasks.helpers import run_queued

TEAMS = [f"team-{number}" for number in range(5)]
ALL = sorted(["dev", "prod", *TEAMS])


@pytest.fixture
def split(fake_client, db, settings):
    """Seven sandboxes on the remote, runs split into three parts, tasks left for a worker."""
    settings.FLOWADMIN_TASKS_SYNC = False
    settings.FLOWADMIN_SYNC_PARTS = 3
    for name in TEAMS:
        fake_client.add_sandbox(name)
        fake_client.flow_specs[name] = [flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API])]
        fake_client.connection_specs[name] = [connection_spec(HTTP_API, "HTTP API")]
    return fake_client


def test_a_run_split_into_parts_syncs_every_sandbox_once_and_records_one_summary(split, staff_user):
    run = sync_run_start(actor=staff_user).run

    ran = run_queued()

    assert [func.rsplit(".", 1)[1] for func, ok in ran if ok] == ["sync_run"] + ["sync_run_part"] * 3
    run.refresh_from_db()
    assert run.parts == 3 and run.finished_at is not None and run.error == ""
    assert dict(run.items.values_list("sandbox_name", "state")) == {name: "succeeded" for name in ALL}
    assert {name: split.listings(name) for name in ALL} == {name: 1 for name in ALL}
    synced = AuditEvent.objects.filter(action="sandbox.synced")
    assert sorted(synced.values_list("sandbox", flat=True)) == ["", *ALL]  # one per new sandbox, one summary
    assert synced.get(sandbox="").detail.startswith(f"Sync run #{run.pk} of all sandboxes: 7 sandboxes, 7 changed")
    assert not Sandbox.objects.exclude(sync_lease_token="").exists()
    out = io.StringIO()
    call_command("audit_verify", stdout=out)  # raises when the chain is broken
    assert "Audit chain intact" in out.getvalue()


def test_a_part_delivered_again_syncs_only_what_it_had_not_finished(split):
    run = sync_run_start().run
    [dispatch] = OrmQ.objects.all()
    dispatch.delete()

    tasks.sync_run(run.pk)  # the run's own task: splits it and queues the parts
    parts = [row.task["args"] for row in OrmQ.objects.order_by("id")]
    assert [names for _, names in parts] == [["dev", "prod", "team-0"], ["team-1", "team-2"], ["team-3", "team-4"]]
    # The worker of the first part synced dev, was syncing prod and died: its task is delivered again.
    SyncRunSandbox.objects.filter(run=run, sandbox_name="dev").update(state="succeeded")
    SyncRunSandbox.objects.filter(run=run, sandbox_name="prod").update(state="running")
    tasks.sync_run(run.pk)  # the dispatch delivered again too: the run is split already, nothing is queued twice
    assert OrmQ.objects.count() == 3

    run_queued()

    run.refresh_from_db()
    assert run.finished_at is not None
    assert dict(run.items.values_list("sandbox_name", "state")) == {name: "succeeded" for name in ALL}
    assert split.listings("dev") == 0 and all(split.listings(name) == 1 for name in ALL if name != "dev")
    assert AuditEvent.objects.filter(sandbox="", detail__startswith=f"Sync run #{run.pk} ").count() == 1


def test_a_run_of_one_sandbox_is_not_split(split):
    run = sync_run_start(sandbox_name="dev").run

    assert [func.rsplit(".", 1)[1] for func, _ in run_queued()] == ["sync_run"]
    assert SyncRun.objects.get(pk=run.pk).parts == 0 and split.listings("dev") == 1
