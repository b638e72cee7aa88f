"""Syncs as background tasks: asked for on a page or run on the schedule, audited without flooding the log,
carried on after an interrupted attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from flowadmin.audit.models import AuditEvent
from flowadmin.catalog import tasks
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.services import sync_run_start
from tests.catalog.fakes import DATA_LAKE, HTTP_API, STREAMING_ID, connection_spec, flow_spec
from tests.tasks.helpers import run_queued

MANY = 60  # sandboxes besides dev and prod: one scheduled run every 15 minutes is 96 a day


@pytest.fixture
def many(fake_client, db):
    """The fake remote with MANY more sandboxes, every one synced once (their first, audited sync)."""
    for number in range(MANY):
        name = f"team-{number:02d}"
        fake_client.add_sandbox(name)
        fake_client.flow_specs[name] = [flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API])]
        fake_client.connection_specs[name] = [connection_spec(HTTP_API, "HTTP API"), connection_spec(DATA_LAKE, "Lake")]
    first = sync_run_start(background=False).run
    assert first.items.filter(state="succeeded").count() == MANY + 2
    return fake_client


def events_after(seq: int) -> list[tuple[str, str, str]]:
    rows = AuditEvent.objects.filter(seq__gt=seq).order_by("seq")
    return list(rows.values_list("action", "sandbox", "outcome"))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_a_scheduled_sync_of_many_sandboxes_that_finds_nothing_changed_adds_no_audit_event(many):
    before, synced_before = last_seq(), Sandbox.objects.get(name="team-00").last_synced_at

    result = tasks.sync_scheduled()

    run = SyncRun.objects.get(scheduled=True)
    assert result == f"Sync run #{run.pk} started." and run.finished_at is not None
    assert run.items.filter(state="succeeded").count() == MANY + 2
    assert events_after(before) == []  # so 96 runs a day over any number of sandboxes add none
    assert Sandbox.objects.get(name="team-00").last_synced_at > synced_before  # the sync did happen


def test_a_sync_someone_asked_for_adds_one_summary_event_however_many_sandboxes(many, staff_user):
    before = last_seq()

    run = sync_run_start(actor=staff_user).run

    [summary] = AuditEvent.objects.filter(seq__gt=before)
    assert (summary.action, summary.sandbox, summary.outcome, summary.actor_username) == (
        "sandbox.synced",
        "",
        "success",
        "staff",
    )
    total = MANY + 2
    assert summary.detail == f"Sync run #{run.pk} of all sandboxes: {total} sandboxes, 0 changed, {total} unchanged."


def test_a_scheduled_sync_records_what_changed_and_what_failed_and_nothing_more(many):
    many.flow_specs["team-07"] = [flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API, DATA_LAKE])]
    many.fail("flowSpecs", "team-13")
    before = last_seq()

    tasks.sync_scheduled()

    assert events_after(before) == [
        ("flowspec.changed_remotely", "team-07", "success"),
        ("sandbox.synced", "team-07", "success"),
        ("sandbox.sync_failed", "team-13", "failure"),
    ]
    run = SyncRun.objects.get(scheduled=True)
    assert set(run.items.filter(has_changes=True).values_list("sandbox_name", flat=True)) == {"team-07"}


def test_a_connection_spec_that_changed_is_a_change_too(many):
    many.connection_specs["team-03"].append(connection_spec("0ed90a81-07f4-4586-8190-b40eccef1c5a", "New one"))
    before = last_seq()

    tasks.sync_scheduled()

    assert events_after(before) == [("sandbox.synced", "team-03", "success")]
    assert AuditEvent.objects.get(seq__gt=before).detail.endswith("; 3 connection specs.")


def test_a_scheduled_run_that_cannot_list_the_sandboxes_is_recorded(fake_client, db):
    fake_client.fail("sandboxes", None)

    tasks.sync_scheduled()

    [event] = AuditEvent.objects.all()
    assert (event.action, event.outcome) == ("sandbox.sync_failed", "failure")
    assert "(scheduled)" in event.detail and "Could not list the sandboxes" in event.detail


def test_no_scheduled_run_starts_while_one_is_going(fake_client, db):
    Sandbox.objects.create(name="dev")
    going = SyncRun.objects.create(token="going", started_at=timezone.now())
    Sandbox.objects.filter(name="dev").update(
        sync_lease_token="going", sync_lease_until=timezone.now() + timedelta(minutes=5), sync_run=going
    )
    SyncRunSandbox.objects.create(run=going, sandbox_name="dev", state="running")

    assert tasks.sync_scheduled() == f"Sync run #{going.pk} was syncing these sandboxes already: nothing started."
    assert SyncRun.objects.count() == 1 and fake_client.calls == []


def test_an_interrupted_run_carries_on_with_the_sandboxes_it_had_not_finished(fake_client, db, settings):
    settings.FLOWADMIN_TASKS_SYNC = False  # the task waits for a worker
    Sandbox.objects.create(name="dev")
    Sandbox.objects.create(name="prod")
    run = sync_run_start().run
    [queued] = OrmQ.objects.all()
    assert queued.task["args"] == (run.pk,)
    # A first worker synced dev and died while syncing prod: dev's row says so, prod's says running.
    SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now())
    SyncRunSandbox.objects.filter(run=run, sandbox_name="dev").update(state="succeeded", new=2, has_changes=True)
    SyncRunSandbox.objects.filter(run=run, sandbox_name="prod").update(state="running")

    assert run_queued() == [("flowadmin.catalog.tasks.sync_run", True)]  # delivered again

    run.refresh_from_db()
    assert run.finished_at is not None and run.error == ""
    assert dict(run.items.values_list("sandbox_name", "state")) == {"dev": "succeeded", "prod": "succeeded"}
    assert fake_client.listings("dev") == 0 and fake_client.listings("prod") == 1
    assert Sandbox.objects.exclude(sync_lease_token="").count() == 0


def test_a_task_for_a_run_already_finished_does_nothing(fake_client, db):
    run = sync_run_start(background=False).run
    calls = len(fake_client.calls)

    assert tasks.sync_run(run.pk) == f"Sync run #{run.pk}: finished already, nothing to do."
    assert len(fake_client.calls) == calls


def test_sync_now_hands_the_run_to_a_worker_and_the_page_says_it_waits_for_one(staff_client, fake_client, settings):
    settings.FLOWADMIN_TASKS_SYNC = False
    response = staff_client.post(reverse("catalog:sync"))

    run = SyncRun.objects.get()
    page = staff_client.get(response["Location"]).content.decode()
    assert "Queued: waiting for a background worker." in page
    assert 'hx-trigger="every 1s"' in page and fake_client.calls == []

    run_queued()
    page = staff_client.get(reverse("catalog:sync_run", args=[run.pk])).content.decode()
    assert "2 sandboxes synced" in page and 'hx-trigger="every 1s"' not in page


def test_a_run_no_worker_took_up_says_to_start_one(staff_client, settings):
    settings.FLOWADMIN_SYNC_LEASE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    run = SyncRun.objects.create(token="t", created_at=long_ago, heartbeat_at=long_ago)

    page = staff_client.get(reverse("catalog:sync_run", args=[run.pk])).content.decode()

    assert "No background worker took this sync up: is one running (<code>manage.py qcluster</code>)?" in page
