"""What the queue looks like: `queue_status()` for metrics, the "Background tasks" page for approvers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Task

from flowadmin.tasks.queue import enqueue
from flowadmin.tasks.status import queue_status

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def for_a_worker(settings):
    settings.FLOWADMIN_TASKS_SYNC = False


def failed_task(*, minutes_ago: int, error: str = "RuntimeError: boom") -> Task:
    stopped = timezone.now() - timedelta(minutes=minutes_ago)
    return Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"failed {minutes_ago} min ago",
        func="tests.tasks.jobs.explode",
        started=stopped,
        stopped=stopped,
        success=False,
        result=error,
    )


def queued_since(minutes: int) -> None:
    OrmQ.objects.update(lock=timezone.now() - timedelta(minutes=minutes))


def test_an_empty_queue(db):
    assert queue_status() == {"depth": 0, "oldest_age_seconds": 0.0, "running": 0, "failed_recent": 0}


def test_depth_age_running_and_recent_failures(db, for_a_worker):
    for number in range(3):
        enqueue("tests.tasks.jobs.record", number)
    queued_since(5)
    taken = OrmQ.objects.order_by("id").first()
    OrmQ.objects.filter(pk=taken.pk).update(lock=timezone.now() + timedelta(minutes=10))  # a worker holds it
    failed_task(minutes_ago=10)
    failed_task(minutes_ago=90)  # not recent

    status = queue_status()
    assert (status["depth"], status["running"], status["failed_recent"]) == (2, 1, 1)
    assert 300 <= status["oldest_age_seconds"] < 3600


def test_approvers_see_the_figures_the_schedules_and_the_latest_failures(approver_client, for_a_worker):
    enqueue("tests.tasks.jobs.record", 1)
    failed_task(minutes_ago=3, error="ConnectionRefusedError: smtp down : Traceback ...")

    page = approver_client.get("/tasks/").content.decode()
    assert 'id="tasks-queued">1, the oldest waiting for' in page
    assert 'id="tasks-failed">1<' in page
    assert "flowadmin:catalog.sync" in page and "flowadmin.changes.tasks.reconcile_changes" in page
    assert "smtp down" in page
    assert "is a worker" not in page  # it has not waited long
    assert "the admin&#x27;s Background tasks pages" not in page  # superusers only


def test_a_queue_that_does_not_move_asks_whether_a_worker_runs(approver_client, for_a_worker):
    enqueue("tests.tasks.jobs.record", 1)
    queued_since(10)

    fragment = approver_client.get("/tasks/", **HTMX).content.decode()
    assert 'id="task-figures"' in fragment and "<h1>" not in fragment  # the polled part only
    assert "is a worker (<code>manage.py qcluster</code>) running?" in fragment


def test_the_page_is_for_approvers_and_superusers(client, staff_user, superuser):
    client.force_login(staff_user)
    refused = client.get("/tasks/")
    assert refused.status_code == 403
    assert "for approvers (and superusers)" in refused.content.decode()

    client.force_login(superuser)
    page = client.get("/tasks/").content.decode()
    assert "/admin/django_q/" in page
    for model in ("ormq", "success", "failure", "schedule"):
        assert client.get(f"/admin/django_q/{model}/").status_code == 200
