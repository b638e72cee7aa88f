"""A rollout dev -> stage -> prod over real HTTP against the embedded emulator.

The pages run in the test client; the Flow Service client behind them talks HTTP to the emulator on
the live server, as it would to Adobe. The emulator's documents and request log prove what reached
each sandbox.
"""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, FlowSpecVersion
from flowadmin.catalog.services import sandbox_sync, sandboxes_discover
from flowadmin.flowservice import get_client
from flowadmin.rollouts import services
from flowadmin.rollouts.models import Rollout
from tests.conftest import make_user
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

ORDER = ["dev", "stage", "prod"]
SPEC_PUTS = f"{FLOW_SPECS}/*"
METADATA_CHANGED_BY_A_PUT = {"updatedAt", "updatedBy", "updatedClient"}
WAIT_SECONDS = 120


@pytest.fixture(autouse=True)
def _quick_retries_and_closed_connections(emulator, settings):
    settings.FLOWSERVICE_MAX_RETRIES = 2
    settings.FLOWSERVICE_BACKOFF = 0.001
    settings.FLOWSERVICE_BACKOFF_MAX = 0.01
    yield
    get_client().close()  # its kept-alive connections hold live-server threads and their database connections


@pytest.fixture
def synced(emulator):
    """dev, stage and prod discovered (with their types) and cached by real syncs; the log starts empty."""
    sandboxes_discover()
    for name in ORDER:
        assert sandbox_sync(sandbox_name=name).ok
    emulator.clear_log()
    return {name: emulator.document(name, GENERIC_STREAMING_ID) for name in ORDER}


def puts(emulator, sandbox: str) -> list[int]:
    return [entry["status"] for entry in emulator.log(method="PUT", sandbox=sandbox, path=SPEC_PUTS)]


def carries_new_source(emulator, sandbox: str) -> bool:
    return NEW_STREAMING_SOURCE_ID in documents.source_ids(emulator.document(sandbox, GENERIC_STREAMING_ID))


def propose_through_the_page(client, author) -> Rollout:
    client.force_login(author)
    form = {
        "spec_id": GENERIC_STREAMING_ID,
        "add_ids": NEW_STREAMING_SOURCE_ID,
        "remove_ids": "",
        "reason": "Acme Events goes live everywhere",
        "submit": "1",
        **{f"include_{name}": "on" for name in ORDER},
        **{f"position_{name}": str(place) for place, name in enumerate(ORDER, start=1)},
    }
    response = client.post(reverse("rollouts:new"), form)
    rollout = Rollout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rollouts:detail", args=[rollout.pk])
    return rollout


def step_statuses(rollout) -> list[str]:
    return [step.change_request.status for step in rollout.steps.select_related("change_request").order_by("position")]


def test_a_failing_stage_stops_the_rollout_and_resume_finishes_it_without_a_second_put_to_dev(
    client, emulator, synced, staff_user, approver_user, second_approver
):
    rollout = propose_through_the_page(client, staff_user)
    assert [step.sandbox for step in rollout.steps.order_by("position")] == ORDER
    emulator.add_fault(method="PUT", path=SPEC_PUTS, sandbox="stage", action="respond", status=503, times=1)

    client.force_login(approver_user)
    detail = client.get(reverse("rollouts:detail", args=[rollout.pk]))
    assert detail.status_code == 200
    check = client.get(reverse("rollouts:check", args=[rollout.pk, 3]), HTTP_HX_REQUEST="true")
    assert "still applies" in check.text
    client.post(
        reverse("rollouts:approve", args=[rollout.pk]),
        {"digest": rollout.digest, "comment": "Checked.", "confirmed": "on"},
    )

    # Stopped at stage: dev applied, stage refused by the service, prod untouched.
    rollout.refresh_from_db()
    assert rollout.status == "stopped"
    assert rollout.stopped_position == 2
    assert step_statuses(rollout) == ["applied", "failed", "pending"]
    assert puts(emulator, "dev") == [200]
    assert puts(emulator, "stage") == [503]
    assert puts(emulator, "prod") == []
    assert carries_new_source(emulator, "dev")
    assert not carries_new_source(emulator, "stage")
    assert emulator.document("prod", GENERIC_STREAMING_ID) == synced["prod"]
    page = client.get(reverse("rollouts:detail", args=[rollout.pk])).text
    assert "Stopped at step 2 (stage)" in page
    assert "HTTP status</dt><dd>503" in page

    # prod needs a second approver; approving a stopped rollout sends nothing.
    client.force_login(second_approver)
    client.post(
        reverse("rollouts:approve", args=[rollout.pk]),
        {"digest": rollout.digest, "comment": "Checked.", "confirmed": "on"},
    )
    assert sum(len(puts(emulator, name)) for name in ORDER) == 2

    response = client.post(reverse("rollouts:resume", args=[rollout.pk]))
    assert response.status_code == 302

    rollout.refresh_from_db()
    assert rollout.status == "completed"
    assert step_statuses(rollout) == ["applied", "applied", "applied"]
    assert puts(emulator, "dev") == [200]  # no second PUT to dev
    assert puts(emulator, "stage") == [503, 200]
    assert puts(emulator, "prod") == [200]
    for name in ORDER:
        before, after = synced[name], emulator.document(name, GENERIC_STREAMING_ID)
        expected = [*documents.source_ids(before), NEW_STREAMING_SOURCE_ID]
        assert documents.source_ids(after) == expected
        assert documents.put_body(after) == documents.with_source_ids(documents.put_body(before), expected)
        cached = FlowSpec.objects.get(sandbox__name=name, spec_id=GENERIC_STREAMING_ID)
        assert cached.document == after
        assert cached.versions.filter(origin=FlowSpecVersion.Origin.FLOWADMIN).count() == 1

    own = list(
        AuditEvent.objects.filter(action__startswith="rollout.").order_by("seq").values_list("action", "sandbox")
    )
    assert own == [
        ("rollout.proposed", ""),
        ("rollout.approved", ""),
        ("rollout.step_applied", "dev"),
        ("rollout.step_failed", "stage"),
        ("rollout.stopped", "stage"),
        ("rollout.approved", ""),
        ("rollout.resumed", "stage"),
        ("rollout.step_applied", "stage"),
        ("rollout.step_applied", "prod"),
        ("rollout.completed", ""),
    ]
    for step in rollout.steps.select_related("change_request"):
        applied = AuditEvent.objects.get(change_request_id=step.change_request_id, action="change.applied")
        put = [exchange for exchange in applied.exchanges if exchange["method"] == "PUT"]
        assert [exchange["status"] for exchange in put] == [200]
        assert put[0]["request_id"]
        assert [op["op"] for op in applied.patch] == ["add"]
        assert applied.patch[0]["value"] == NEW_STREAMING_SOURCE_ID
    failed = AuditEvent.objects.get(action="change.apply_failed", sandbox="stage")
    assert [exchange["status"] for exchange in failed.exchanges if exchange["method"] == "PUT"] == [503]
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "Audit chain intact" in out.getvalue()


def test_prod_waits_for_a_second_distinct_approver_and_the_author_cannot_be_one(
    emulator, synced, staff_user, approver_user, second_approver, django_user_model
):
    author = django_user_model.objects.create_superuser("lead", email="lead@example.com", password="pw-lead")
    rollout = services.rollout_propose(
        spec_id=GENERIC_STREAMING_ID,
        sandboxes=ORDER,
        added=[NEW_STREAMING_SOURCE_ID],
        removed=[],
        reason="Acme Events goes live",
        author=author,
    )

    with pytest.raises(services.RolloutForbidden):
        services.rollout_approve(rollout=rollout, approver=author, digest=rollout.digest, comment="Checked.")
    waiting = services.rollout_approve(
        rollout=rollout, approver=approver_user, digest=rollout.digest, comment="Checked."
    )
    assert waiting.status == "pending"
    assert step_statuses(waiting) == ["applied", "applied", "pending"]
    assert puts(emulator, "prod") == []
    with pytest.raises(services.RolloutForbidden):
        services.rollout_approve(rollout=waiting, approver=approver_user, digest=waiting.digest, comment="Checked.")
    assert puts(emulator, "prod") == []

    done = services.rollout_approve(
        rollout=waiting, approver=second_approver, digest=waiting.digest, comment="Checked."
    )

    assert done.status == "completed"
    assert [len(puts(emulator, name)) for name in ORDER] == [1, 1, 1]
    assert all(carries_new_source(emulator, name) for name in ORDER)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks under real concurrency: PostgreSQL only")
def test_concurrent_approvals_and_resumes_send_exactly_one_put_per_sandbox(
    emulator, synced, staff_user, django_user_model
):
    rollout = services.rollout_propose(
        spec_id=GENERIC_STREAMING_ID, sandboxes=ORDER, added=[NEW_STREAMING_SOURCE_ID], removed=[], reason="Go",
        author=staff_user,
    )  # fmt: skip
    approvers = [make_user(django_user_model, f"approver{number}", APPROVERS_GROUP) for number in range(6)]
    start = threading.Barrier(len(approvers))
    errors: list[str] = []
    lock = threading.Lock()

    def click(approver):
        try:
            start.wait()
            current = Rollout.objects.get(pk=rollout.pk)
            services.rollout_approve(rollout=current, approver=approver, digest=current.digest, comment="Checked.")
            current = Rollout.objects.get(pk=rollout.pk)
            if current.status == "stopped":
                services.rollout_resume(rollout=current, approver=approver)
        except services.RolloutConflict:
            pass
        except Exception as error:
            with lock:
                errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(approver,)) for approver in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert errors == []
    rollout.refresh_from_db()
    assert rollout.status == "completed"
    assert [puts(emulator, name) for name in ORDER] == [[200], [200], [200]]
    assert AuditEvent.objects.filter(action="rollout.completed").count() == 1
    assert AuditEvent.objects.filter(action="change.approved").count() == 3
