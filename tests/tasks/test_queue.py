"""Enqueueing: a task waits in the database for a worker, inside the caller's transaction; in the test
suite's sync mode it runs at once; a task that fails with a transient error is retried with back-off."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.scheduler import scheduler

from flowadmin.tasks.queue import enqueue, retry_delay
from flowadmin.tasks.schedules import PREFIX
from tests.tasks import jobs
from tests.tasks.helpers import run_queued


@pytest.fixture(autouse=True)
def _calls_forgotten():
    jobs.CALLS.clear()
    yield
    jobs.CALLS.clear()


@pytest.fixture
def for_a_worker(settings):
    settings.FLOWADMIN_TASKS_SYNC = False


def test_a_task_waits_in_the_database_for_a_worker_and_runs_there_once(db, for_a_worker):
    enqueue("tests.tasks.jobs.record", 7, "seven", name="record seven", colour="red")

    assert jobs.CALLS == []  # nothing ran in the caller
    [row] = OrmQ.objects.all()
    assert (row.task["func"], row.task["args"], row.task["kwargs"]) == (
        "tests.tasks.jobs.record",
        (7, "seven"),
        {"colour": "red"},
    )
    assert row.task["name"] == "record seven"
    assert run_queued() == [("tests.tasks.jobs.record", True)]
    assert jobs.CALLS == [((7, "seven"), {"colour": "red"})]
    assert not OrmQ.objects.exists()


def test_a_task_enqueued_in_a_transaction_that_rolls_back_is_gone_with_it(db, for_a_worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("tests.tasks.jobs.record", 1)
        raise RuntimeError("the action failed")

    assert not OrmQ.objects.exists()


def test_in_sync_mode_a_task_runs_at_once_and_its_failure_is_logged_never_raised(db, caplog):
    enqueue("tests.tasks.jobs.record", 1)
    assert jobs.CALLS == [((1,), {})]

    with caplog.at_level(logging.ERROR, logger="flowadmin.tasks"):
        assert enqueue("tests.tasks.jobs.explode", name="explode") is None
    assert "task explode failed" in caplog.text and "boom" in caplog.text


def test_the_back_off_doubles_up_to_its_ceiling():
    assert [retry_delay(attempt, backoff=30, backoff_max=300) for attempt in range(1, 7)] == [
        30,
        60,
        120,
        240,
        300,
        300,
    ]


def retries() -> list[Schedule]:
    return list(Schedule.objects.filter(func="tests.tasks.jobs.flaky", schedule_type=Schedule.ONCE))


@pytest.fixture
def only_retries_due():
    """flowadmin's own schedules (a sync, reconcile) are due once migrated: not in these tests."""
    Schedule.objects.filter(name__startswith=PREFIX).update(next_run=timezone.now() + timedelta(days=1))


def due_now(schedule: Schedule) -> None:
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)  # django-q2's scheduler closes obsolete connections: no test transaction
def test_a_transient_failure_is_retried_later_by_the_schedule_until_it_succeeds(settings, only_retries_due):
    settings.FLOWADMIN_TASKS_SYNC = True
    started = timezone.now()
    enqueue("tests.tasks.jobs.flaky", "sync-a", 1)  # fails once, then works

    [retry] = retries()
    assert timedelta(seconds=30) <= retry.next_run - started, "not before its back-off"
    assert "'_attempt': 2" in retry.kwargs and "'sync-a'" in retry.args
    due_now(retry)
    scheduler()  # what a worker does about every 30 s: the due one-off schedule becomes a queued task
    assert not retries(), "a one-off schedule removes itself once it has run"
    assert run_queued() == [("tests.tasks.jobs.flaky", True)]
    assert jobs.CALLS == ["sync-a", "sync-a"]
    assert not retries()


@pytest.mark.django_db(transaction=True)
def test_a_task_that_keeps_failing_gives_up_after_its_attempts_each_later_than_the_last(
    settings, caplog, only_retries_due
):
    settings.FLOWADMIN_TASKS_SYNC = True
    enqueue("tests.tasks.jobs.flaky", "sync-b", 99)
    delays = []
    for _ in range(2):
        [retry] = retries()
        delays.append(round((retry.next_run - timezone.now()).total_seconds() / 30))
        due_now(retry)
        scheduler()
        assert run_queued() == [("tests.tasks.jobs.flaky", False)]
    assert delays == [1, 2]  # 30 s, then 60 s
    assert not retries() and jobs.CALLS == ["sync-b"] * 3
    assert "failed 3 times" in caplog.text and "giving up" in caplog.text


def test_an_error_that_is_not_transient_is_not_retried(db):
    enqueue("tests.tasks.jobs.explode")

    assert not Schedule.objects.filter(schedule_type=Schedule.ONCE).exists()
