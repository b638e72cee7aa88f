"""Approvals, syncs and remote changes at the same time, on PostgreSQL (row locks, real concurrency).

SQLite serialises every writer, so the races below cannot happen there: these tests are skipped on it.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services, views
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import get_client
from tests.changes.factories import propose
from tests.conftest import make_user
from tests.fixtures.emulator import CONNECTION_SPECS, FLOW_SPECS
from tests.reliability.helpers import (
    ACME_EVENTS,
    ACME_LOYALTY,
    REST_ID,
    STREAMING_ID,
    WAIT_SECONDS,
    audit_verify,
    close_connections,
    quick_retries,
    request_threads,
    spec_path,
    story,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: no race to test"),
]
HOLD_MS = 3000  # how long the emulator holds a call while the race is staged


@pytest.fixture
def remote(emulator, settings):
    before = request_threads()
    quick_retries(settings)
    assert sandbox_sync(sandbox_name="dev").ok
    get_client().auth.token()
    emulator.clear_log()
    yield emulator
    close_connections(emulator, before)


def cached(spec_id: str) -> FlowSpec:
    return FlowSpec.objects.get(sandbox__name="dev", spec_id=spec_id)


def in_threads(*targets) -> list:
    """Run each target in its own thread, started together; return their results (exceptions re-raised)."""
    start = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(index, target):
        try:
            start.wait()
            results[index] = target()
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def hold_until_taken(emulator, **rule) -> None:
    """Wait until the emulator took the (one-use) rule: the call it holds has arrived."""
    wait_until(lambda: not emulator.faults(), what=f"a call matching {rule} to arrive")


def test_eight_approvers_clicking_at_once_send_exactly_one_put(remote, staff_user, django_user_model):
    change_request = propose(cached(STREAMING_ID), staff_user, add=[ACME_EVENTS])
    browsers = []
    for number in range(8):
        browser = Client()
        browser.force_login(make_user(django_user_model, f"approver{number}", APPROVERS_GROUP))
        browsers.append(browser)

    def click(browser):
        return lambda: (
            browser.post(f"/changes/{change_request.pk}/approve/", {"digest": change_request.digest}, follow=True).text
        )

    pages = in_threads(*(click(browser) for browser in browsers))

    applied = views.APPLIED.format(pk=change_request.pk)
    assert sum(applied in page for page in pages) == 1
    assert sum("nothing was done" in page for page in pages) == 7
    assert len(remote.log(method="PUT")) == 1
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applied"
    assert [action for action, _ in story(change_request)].count("change.approved") == 1
    assert ACME_EVENTS in documents.source_ids(remote.document("dev", STREAMING_ID))
    assert "audit chain intact" in audit_verify().lower()


def test_two_approvals_in_one_sandbox_at_once_both_apply_and_neither_is_lost(
    remote, staff_user, approver_user, django_user_model
):
    second_approver = make_user(django_user_model, "approver2", APPROVERS_GROUP)
    streaming = propose(cached(STREAMING_ID), staff_user, add=[ACME_EVENTS])
    rest = propose(cached(REST_ID), staff_user, add=[ACME_LOYALTY])
    # Both PUTs are held a moment by the emulator, so that the two applies overlap.
    remote.add_fault(action="delay", method="PUT", path=f"{FLOW_SPECS}/*", delay_ms=500, times=2)

    def approve(change_request, reviewer):
        return lambda: (
            services.change_request_approve(
                change_request=change_request, reviewer=reviewer, digest=change_request.digest
            ).status
        )

    results = in_threads(approve(streaming, approver_user), approve(rest, second_approver))

    assert results == ["applied", "applied"]
    assert [entry["status"] for entry in remote.log(method="PUT")] == [200, 200]
    assert ACME_EVENTS in documents.source_ids(remote.document("dev", STREAMING_ID))
    assert ACME_LOYALTY in documents.source_ids(remote.document("dev", REST_ID))
    assert cached(STREAMING_ID).document == remote.document("dev", STREAMING_ID)
    assert cached(REST_ID).document == remote.document("dev", REST_ID)
    assert "audit chain intact" in audit_verify().lower()


def test_a_remote_change_racing_an_approval_makes_it_stale_and_is_kept(remote, staff_user, approver_user):
    change_request = propose(cached(STREAMING_ID), staff_user, add=[ACME_EVENTS])
    elsewhere = documents.put_body(remote.document("dev", STREAMING_ID))
    elsewhere["sourceConnectionSpecIds"].append(ACME_LOYALTY)
    # The approval's read is held by the emulator; meanwhile someone else changes the document.
    remote.add_fault(action="delay", method="GET", path=spec_path(STREAMING_ID), delay_ms=HOLD_MS, times=1)
    result: dict = {}

    def approve():
        result["status"] = services.change_request_approve(
            change_request=change_request, reviewer=approver_user, digest=change_request.digest
        ).status
        connection.close()

    approval = threading.Thread(target=approve)
    approval.start()
    hold_until_taken(remote, method="GET")
    assert remote.put(spec_path(STREAMING_ID), json=elsewhere).status_code == 200
    approval.join(WAIT_SECONDS)

    assert result["status"] == "stale"
    ids = documents.source_ids(remote.document("dev", STREAMING_ID))
    assert ACME_LOYALTY in ids and ACME_EVENTS not in ids
    assert [entry["status"] for entry in remote.log(method="PUT")] == [200]  # only the other party's
    assert story(change_request)[-1] == ("change.stale", "success")
    assert "audit chain intact" in audit_verify().lower()


def test_a_sync_running_while_a_change_applies_leaves_the_cache_equal_to_the_remote(remote, staff_user, approver_user):
    change_request = propose(cached(STREAMING_ID), staff_user, add=[ACME_EVENTS])
    # The sync has listed the flow specs (the document before the change) and is held on its next call.
    remote.add_fault(action="delay", method="GET", path=CONNECTION_SPECS, sandbox="dev", delay_ms=HOLD_MS, times=1)
    outcome: dict = {}

    def sync():
        outcome["sync"] = sandbox_sync(sandbox_name="dev")
        connection.close()

    syncing = threading.Thread(target=sync)
    syncing.start()
    hold_until_taken(remote, method="GET", path=CONNECTION_SPECS)
    applied = services.change_request_approve(
        change_request=change_request, reviewer=approver_user, digest=change_request.digest
    )
    syncing.join(WAIT_SECONDS)

    assert applied.status == "applied" and outcome["sync"].ok
    after = remote.document("dev", STREAMING_ID)
    assert ACME_EVENTS in documents.source_ids(after)
    assert cached(STREAMING_ID).document == after
    assert not AuditEvent.objects.filter(action="flowspec.changed_remotely").exists()
    assert "audit chain intact" in audit_verify().lower()


def test_two_approvers_giving_the_last_two_approvals_of_a_production_change_at_once_send_one_put(
    remote, staff_user, django_user_model
):
    assert sandbox_sync(sandbox_name="prod").ok
    spec = FlowSpec.objects.get(sandbox__name="prod", spec_id=STREAMING_ID)
    assert spec.sandbox.tier == "production"
    change_request = propose(spec, staff_user, add=[ACME_EVENTS])
    approvers = [make_user(django_user_model, f"prod-approver{number}", APPROVERS_GROUP) for number in range(2)]
    remote.clear_log()

    def approve(reviewer):
        return lambda: (
            services.change_request_approve(
                change_request=change_request, reviewer=reviewer, digest=change_request.digest, comment="Checked."
            ).status
        )

    statuses = sorted(in_threads(*(approve(reviewer) for reviewer in approvers)))

    assert statuses == ["applied", "pending"], "one approval waited for the other, which applied the change"
    assert len(remote.log(method="PUT")) == 1
    final = ChangeRequest.objects.get(pk=change_request.pk)
    assert final.status == "applied"
    assert sorted(a.approver_username for a in final.approvals.all()) == ["prod-approver0", "prod-approver1"]
    assert ACME_EVENTS in documents.source_ids(remote.document("prod", STREAMING_ID))
    assert "audit chain intact" in audit_verify().lower()
