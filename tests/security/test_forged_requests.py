"""Forged and replayed POSTs, as an attacker with a browser would send them (CSRF checks on).

Each is refused with a clear 4xx or message; the change requests, the cache, the audit log (apart
from the refusal the services record on purpose) and the remote document stay as they were, and
the emulator receives no PUT.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from flowadmin.accounts.roles import APPROVERS_GROUP, STAFF_GROUP
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
from flowadmin.catalog.services import sandbox_sync
from flowadmin.changes import services, views
from flowadmin.changes.models import ChangeRequest
from tests.changes.factories import propose
from tests.conftest import make_user
from tests.reliability.helpers import (
    ACME_EVENTS,
    STREAMING_ID,
    close_connections,
    quick_retries,
    request_threads,
    snapshot,
)


@pytest.fixture
def world(emulator, settings):
    """Sandboxes dev and prod synced from the emulator; its log starts empty."""
    before = request_threads()
    quick_retries(settings)
    assert sandbox_sync(sandbox_name="dev").ok
    assert sandbox_sync(sandbox_name="prod").ok
    emulator.clear_log()
    yield emulator
    close_connections(emulator, before)


def spec(sandbox: str = "dev") -> FlowSpec:
    return FlowSpec.objects.get(sandbox__name=sandbox, spec_id=STREAMING_ID)


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def form_token(client: Client, page: str) -> str:
    html = client.get(page).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def approve_url(change_request) -> str:
    return f"/changes/{change_request.pk}/approve/"


def detail_url(change_request) -> str:
    return f"/changes/{change_request.pk}/"


def refused_events(since: int) -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.filter(seq__gt=since).order_by("seq").values_list("action", "outcome", "detail"))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_an_approver_cannot_approve_their_own_request(world, django_user_model):
    both = make_user(django_user_model, "both", STAFF_GROUP)
    both.groups.add(Group.objects.get(name=APPROVERS_GROUP))
    mine = propose(spec(), both, add=[ACME_EVENTS])
    client = browser(both)
    token = form_token(client, detail_url(mine))
    before, seq = snapshot(world), last_seq()

    response = client.post(approve_url(mine), {"digest": mine.digest, "csrfmiddlewaretoken": token})

    assert response.status_code == 403
    assert services.FOUR_EYES in response.text
    assert refused_events(seq) == [("change.approved", "failure", f"Refused: {services.FOUR_EYES}")]
    after = snapshot(world)
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert {**after, "audit": before["audit"]} == before


def test_deciding_needs_the_approvers_role(world, staff_user, other_staff_user, auditor_user):
    pending = propose(spec(), staff_user, add=[ACME_EVENTS])
    before = snapshot(world)
    for user in (other_staff_user, auditor_user):
        client = browser(user)
        token = form_token(client, detail_url(pending))
        approve = client.post(approve_url(pending), {"digest": pending.digest, "csrfmiddlewaretoken": token})
        reject = client.post(f"/changes/{pending.pk}/reject/", {"comment": "no", "csrfmiddlewaretoken": token})
        for response in (approve, reject):
            assert response.status_code == 403
            assert views.NEEDS_APPROVE in response.text
    withdraw = client.post(f"/changes/{pending.pk}/withdraw/", {"csrfmiddlewaretoken": token})
    assert withdraw.status_code == 403
    assert services.NOT_AUTHOR in withdraw.text
    after = snapshot(world)
    assert {**after, "audit": before["audit"]} == before
    # Every refused attempt is in the audit log, by the rule book that refused it.
    refusals = refused_events(before["audit"][-1][0])
    assert [action for action, *_ in refusals] == [*["change.approved", "change.rejected"] * 2, "change.withdrawn"]
    assert all(outcome == "failure" for _action, outcome, _detail in refusals)


def test_an_approval_carried_to_another_request_s_url_is_refused(world, staff_user, approver_user):
    in_dev = propose(spec("dev"), staff_user, add=[ACME_EVENTS])
    in_prod = propose(spec("prod"), staff_user, add=[ACME_EVENTS])
    client = browser(approver_user)
    html = client.get(detail_url(in_dev)).content.decode()
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', html).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    before, seq = snapshot(world), last_seq()

    response = client.post(approve_url(in_prod), {"digest": digest, "csrfmiddlewaretoken": token})

    assert response.status_code == 403
    assert services.DIGEST_MISMATCH in response.text
    assert refused_events(seq) == [("change.approved", "failure", f"Refused: {services.DIGEST_MISMATCH}")]
    after = snapshot(world)
    assert {**after, "audit": before["audit"]} == before
    assert world.log(method="PUT") == []


def test_posts_without_a_valid_csrf_token_are_refused(world, staff_user, approver_user):
    pending = propose(spec(), staff_user, add=[ACME_EVENTS])
    approver, staff = browser(approver_user), browser(staff_user)
    someone_elses = form_token(browser(staff_user), "/")
    edit = f"/sandboxes/dev/flowspecs/{STREAMING_ID}/edit/"
    before = snapshot(world)

    attempts = [
        approver.post(approve_url(pending), {"digest": pending.digest}),
        approver.post(approve_url(pending), {"digest": pending.digest, "csrfmiddlewaretoken": someone_elses}),
        approver.post(f"/changes/{pending.pk}/reject/", {"comment": "forged"}),
        staff.post(f"/changes/{pending.pk}/withdraw/", {}),
        staff.post(edit, {"source_connection_spec_ids": ACME_EVENTS, "reason": "forged"}),
        staff.post(f"/sandboxes/dev/flowspecs/{STREAMING_ID}/preview/", {"reason": "x"}, HTTP_HX_REQUEST="true"),
        staff.post("/sandboxes/sync/", {}),
    ]

    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert all("This form has expired" in response.text for response in attempts), "a page that says what to do"
    assert all("Nothing was saved" in response.text for response in attempts)
    assert snapshot(world) == before


def test_a_replayed_approval_after_the_decision_changes_nothing(world, staff_user, approver_user):
    pending = propose(spec(), staff_user, add=[ACME_EVENTS])
    client = browser(approver_user)
    post = {"digest": pending.digest, "csrfmiddlewaretoken": form_token(client, detail_url(pending))}
    first = client.post(approve_url(pending), post, follow=True)
    assert views.APPLIED.format(pk=pending.pk) in first.text
    applied = snapshot(world)
    assert len(applied["emulator_puts"]) == 1

    replays = [
        client.post(approve_url(pending), post, follow=True),
        client.post(f"/changes/{pending.pk}/reject/", {**post, "comment": "too late"}, follow=True),
    ]

    already = services.ALREADY_DECIDED.format(pk=pending.pk, status="applied")
    for replay in replays:
        assert replay.status_code == 200
        assert already in replay.text
    assert snapshot(world) == applied
    assert ChangeRequest.objects.get(pk=pending.pk).status == "applied"
