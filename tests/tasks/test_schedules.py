"""The recurring tasks: written by migrate, following the settings, one line each to add."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from flowadmin.tasks.schedules import PREFIX, SCHEDULES, Recurring, schedules_apply


def ours() -> dict[str, tuple[str, int]]:
    return {row.name: (row.func, row.minutes) for row in Schedule.objects.filter(name__startswith=PREFIX)}


def test_migrate_wrote_the_syncs_reconciles_checkpoints_and_nightly_verification(db):
    assert ours() == {
        "flowadmin:catalog.sync": ("flowadmin.catalog.tasks.sync_scheduled", 15),
        "flowadmin:changes.reconcile": ("flowadmin.changes.tasks.reconcile_changes", 1),
        "flowadmin:audit.checkpoint": ("flowadmin.audit.tasks.checkpoint_write", 5),
        "flowadmin:audit.verify": ("flowadmin.audit.tasks.verify_full", 1440),
    }
    assert schedules_apply() == [], "applying them again changes nothing"


def test_the_sync_schedule_follows_its_setting_and_0_turns_it_off(db, settings):
    settings.FLOWADMIN_SYNC_SCHEDULE_MINUTES = 5
    assert schedules_apply() == ["flowadmin:catalog.sync: updated, every 5 min"]
    sync = Schedule.objects.get(name="flowadmin:catalog.sync")
    assert sync.minutes == 5 and sync.next_run <= timezone.now() + timedelta(minutes=5)

    settings.FLOWADMIN_SYNC_SCHEDULE_MINUTES = 0
    assert schedules_apply() == ["flowadmin:catalog.sync: removed"]
    assert "flowadmin:catalog.sync" not in ours()

    settings.FLOWADMIN_SYNC_SCHEDULE_MINUTES = 15
    assert schedules_apply() == ["flowadmin:catalog.sync: created, every 15 min"]


def test_adding_a_schedule_is_one_line_and_only_flowadmin_s_own_are_touched(db):
    Schedule.objects.create(name="made in the admin", func="tests.tasks.jobs.record", schedule_type=Schedule.HOURLY)
    Schedule.objects.create(func="tests.tasks.jobs.flaky", schedule_type=Schedule.ONCE)  # a retry
    extra = Recurring("tests.record", "tests.tasks.jobs.record", minutes=5)

    assert schedules_apply([*SCHEDULES, extra]) == ["flowadmin:tests.record: created, every 5 min"]
    assert ours()["flowadmin:tests.record"] == ("tests.tasks.jobs.record", 5)
    assert schedules_apply(SCHEDULES) == ["flowadmin:tests.record: removed"]
    assert Schedule.objects.filter(name="made in the admin").exists()
    assert Schedule.objects.filter(func="tests.tasks.jobs.flaky").exists()


def test_the_command_says_what_it_did(db, settings):
    out = StringIO()
    call_command("task_schedules", stdout=out)
    assert "up to date" in out.getvalue()

    settings.FLOWADMIN_SYNC_SCHEDULE_MINUTES = 30
    out = StringIO()
    call_command("task_schedules", stdout=out)
    assert out.getvalue().strip() == "flowadmin:catalog.sync: updated, every 30 min"
