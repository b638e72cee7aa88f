"""Rollout runs as background tasks: approving or resuming hands the run to a worker, the page follows it,
and a run task delivered twice, or after its claim was taken over, applies nothing twice."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_q.models import OrmQ

from flowadmin.audit.models import AuditEvent
from flowadmin.rollouts import tasks
from flowadmin.rollouts.models import Rollout
from tests.changes.fakes import server_error
from tests.rollouts.test_views import propose, visible_text
from tests.tasks.helpers import run_queued

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def for_a_worker(settings):
    settings.FLOWADMIN_TASKS_SYNC = False


def approve(client, rollout):
    return client.post(reverse("rollouts:approve", args=[rollout.pk]), {"digest": rollout.digest}, follow=True)


def test_approving_hands_the_run_to_a_worker_and_the_page_follows_it_to_the_end(
    approver_client, approver_user, remote, staff_user, for_a_worker
):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])

    page = approve(approver_client, rollout)

    assert f"Rollout #{rollout.pk} is being applied in the background" in visible_text(page.text)
    progress = reverse("rollouts:progress", args=[rollout.pk])
    assert f'hx-get="{progress}" hx-trigger="every 1s"' in page.text
    assert remote.count("put") == 0, "nothing is sent from the request"
    [queued] = OrmQ.objects.all()
    current = Rollout.objects.get(pk=rollout.pk)
    assert current.status == "applying"
    assert queued.task["args"] == (rollout.pk, approver_user.pk, current.run_token)
    fragment = approver_client.get(progress, **HTMX)
    assert "Being applied in the background, at step 1 (dev)" in visible_text(fragment.text)
    assert "<html" not in fragment.text

    assert run_queued() == [("flowadmin.rollouts.tasks.rollout_run", True)]

    done = approver_client.get(progress, **HTMX)
    assert done["HX-Refresh"] == "true", "the page reloads once the run has ended"
    assert Rollout.objects.get(pk=rollout.pk).status == "completed"
    assert remote.puts_to("dev") == remote.puts_to("stage") == 1
    approved, completed = (AuditEvent.objects.get(action=a) for a in ("rollout.approved", "rollout.completed"))
    assert completed.correlation_id == approved.correlation_id, "the run's events belong to the click"


def test_the_progress_link_without_javascript_goes_to_the_rollout(approver_client, remote, staff_user):
    rollout = propose(staff_user)
    response = approver_client.get(reverse("rollouts:progress", args=[rollout.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("rollouts:detail", args=[rollout.pk])


def test_resume_hands_the_run_to_a_worker_too(client, remote, staff_user, approver_user, settings):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    remote.fail_in("stage", "put", server_error(503))
    client.force_login(approver_user)
    approve(client, rollout)  # in the test's own process: stops at stage
    assert Rollout.objects.get(pk=rollout.pk).status == "stopped"

    settings.FLOWADMIN_TASKS_SYNC = False
    page = client.post(reverse("rollouts:resume", args=[rollout.pk]), follow=True)
    assert "is being applied in the background" in visible_text(page.text)
    assert Rollout.objects.get(pk=rollout.pk).status == "applying"

    run_queued()
    assert Rollout.objects.get(pk=rollout.pk).status == "completed"
    assert remote.puts_to("dev") == 1 and remote.puts_to("stage") == 2


def test_a_run_task_delivered_twice_applies_each_sandbox_once(approver_client, remote, staff_user, for_a_worker):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    approve(approver_client, rollout)
    [queued] = OrmQ.objects.all()
    OrmQ.objects.create(key=queued.key, payload=queued.payload, lock=queued.lock)  # the same task, twice

    assert run_queued() == [("flowadmin.rollouts.tasks.rollout_run", True)] * 2

    assert Rollout.objects.get(pk=rollout.pk).status == "completed"
    assert remote.puts_to("dev") == remote.puts_to("stage") == 1
    assert AuditEvent.objects.filter(action="rollout.completed").count() == 1


def test_a_run_task_whose_claim_was_taken_over_does_nothing(remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev"])
    Rollout.objects.filter(pk=rollout.pk).update(status="applying", run_token="the-new-run")

    result = tasks.rollout_run(rollout.pk, approver_user.pk, "the-old-run")

    assert "no longer held" in result
    assert remote.count("put") == 0
