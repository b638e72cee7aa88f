"""A sync run's per-sandbox rows as the run page shows them: running while listed, finished with the
moment each sandbox started."""

import threading
import time

import pytest

from flowadmin.catalog import progress, sync
from flowadmin.catalog.models import SyncRun, SyncRunSandbox
from flowadmin.catalog.services import sandboxes_sync, sync_run_start


def state_of(run: SyncRun, name: str) -> str:
    return SyncRunSandbox.objects.get(run=run, sandbox_name=name).state


@pytest.mark.django_db
def test_a_sandbox_synced_alone_shows_running_while_it_is_listed(fake_client):
    sync.sandboxes_discover()  # known: a sandbox never seen is listed before its row is there (listing.py)
    run = SyncRun.objects.create(scope="dev", token="alone")
    seen = []
    fake_client.before_listing = lambda sandbox: seen.append(state_of(run, sandbox))

    sandboxes_sync(names=["dev"], run=run)

    assert seen == ["running"]
    item = SyncRunSandbox.objects.get(run=run, sandbox_name="dev")
    assert item.state == "succeeded"
    assert item.started_at is not None and item.started_at <= item.finished_at


@pytest.mark.django_db(transaction=True)
def test_sandboxes_listed_side_by_side_show_running_once_the_heartbeat_is_written(fake_client, settings, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0)  # a heartbeat with every write
    settings.FLOWADMIN_SYNC_CONCURRENCY = 2
    sync.sandboxes_discover()
    run = SyncRun.objects.create(token="side-by-side")
    seen = {}
    dev_listed = threading.Event()

    def hold_prod(sandbox):
        if sandbox == "dev":
            dev_listed.set()
            return
        assert dev_listed.wait(timeout=30)
        deadline = time.monotonic() + 30
        while state_of(run, "dev") != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["dev"], seen["prod"] = state_of(run, "dev"), state_of(run, "prod")

    fake_client.before_listing = hold_prod

    results = sandboxes_sync(names=["dev", "prod"], run=run)

    assert all(result.ok for result in results)
    assert seen == {"dev": "succeeded", "prod": "running"}
    items = SyncRunSandbox.objects.filter(run=run)
    assert all(item.started_at is not None and item.started_at <= item.finished_at for item in items)


@pytest.mark.django_db
def test_every_finished_row_of_a_run_keeps_the_moment_its_own_sandbox_started(fake_client):
    run = sync_run_start(background=False).run

    items = list(SyncRunSandbox.objects.filter(run=run).order_by("started_at"))

    assert [item.state for item in items] == ["succeeded", "succeeded"]
    first, second = items
    assert first.started_at <= first.finished_at <= second.started_at <= second.finished_at
