"""The approval rule book as one table: role x tier x action x state -> what happens.

Each row is run twice: against the services (the outcome, or the exact refusal with its kind: 403
for "may not", 409 for "not in this state") and against the pages (the request page shows the
action's button exactly when the action would succeed, and posting it answers 403 exactly when the
service refuses the person). So the pages and the services cannot disagree about a rule.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flowadmin.changes import messages as msg
from flowadmin.changes import policy, services
from flowadmin.changes.models import ChangeRequest
from flowadmin.policy.models import Freeze
from tests.changes.conftest import ACME_EVENTS, SEGMENT, STREAMING_ID
from tests.changes.factories import propose
from tests.changes.fakes import server_error
from tests.conftest import make_user

ROLES = ("author", "approver", "approver2", "staff", "auditor")
ACTIONS = ("approve", "reject", "withdraw", "retry", "rebase", "edit")
OK = {"applied", "pending 1 of 2", "rejected", "withdrawn", "rebased", "edited"}


def _dev(action, state):
    return TABLE[("development", action, state)]


# (tier, action, state) -> outcome per role, in ROLES order. An outcome is a success ("applied",
# "pending 1 of 2", ...) or "403 <message>" / "409 <message>"; {pk} and {status} are the request's.
FOUR = f"403 {policy.FOUR_EYES}"
NOT_APPROVER = f"403 {policy.NOT_APPROVER}"
NOT_AUTHOR = f"403 {policy.NOT_AUTHOR}"
NOT_REBASER = f"403 {policy.NOT_REBASER}"
DECIDED = f"409 {msg.ALREADY_DECIDED}"
NOT_RETRYABLE = f"409 {msg.NOT_RETRYABLE}"
NOT_REBASABLE = f"409 {msg.NOT_REBASABLE}"
NOT_EDITABLE = f"409 {policy.NOT_EDITABLE}"
FROZEN = "409 frozen"
ENOUGH = f"409 {msg.ALREADY_APPROVED_RETRY}"
TWICE = f"403 {policy.ALREADY_APPROVED}"

TABLE = {
    # --- development: one approval --------------------------------------------------------------
    ("development", "approve", "pending"): (FOUR, "applied", "applied", NOT_APPROVER, NOT_APPROVER),
    ("development", "approve", "stale"): (FOUR, DECIDED, DECIDED, NOT_APPROVER, NOT_APPROVER),
    ("development", "approve", "frozen"): (FOUR, FROZEN, FROZEN, NOT_APPROVER, NOT_APPROVER),
    ("development", "approve", "failed"): (FOUR, ENOUGH, TWICE, NOT_APPROVER, NOT_APPROVER),
    ("development", "reject", "pending"): (FOUR, "rejected", "rejected", NOT_APPROVER, NOT_APPROVER),
    ("development", "reject", "stale"): (FOUR, "rejected", "rejected", NOT_APPROVER, NOT_APPROVER),
    ("development", "reject", "frozen"): (FOUR, "rejected", "rejected", NOT_APPROVER, NOT_APPROVER),
    ("development", "reject", "failed"): (FOUR, DECIDED, DECIDED, NOT_APPROVER, NOT_APPROVER),
    ("development", "withdraw", "pending"): ("withdrawn", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "withdraw", "stale"): ("withdrawn", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "withdraw", "frozen"): ("withdrawn", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "withdraw", "failed"): (DECIDED, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "retry", "pending"): (FOUR, NOT_RETRYABLE, NOT_RETRYABLE, NOT_APPROVER, NOT_APPROVER),
    ("development", "retry", "stale"): (FOUR, NOT_RETRYABLE, NOT_RETRYABLE, NOT_APPROVER, NOT_APPROVER),
    ("development", "retry", "frozen"): (FOUR, NOT_RETRYABLE, NOT_RETRYABLE, NOT_APPROVER, NOT_APPROVER),
    ("development", "retry", "failed"): (FOUR, "applied", "applied", NOT_APPROVER, NOT_APPROVER),
    ("development", "rebase", "pending"): (NOT_REBASABLE, NOT_REBASER, NOT_REBASER, NOT_REBASABLE, NOT_REBASER),
    ("development", "rebase", "stale"): ("rebased", NOT_REBASER, NOT_REBASER, "rebased", NOT_REBASER),
    ("development", "rebase", "frozen"): (NOT_REBASABLE, NOT_REBASER, NOT_REBASER, NOT_REBASABLE, NOT_REBASER),
    ("development", "rebase", "failed"): (NOT_REBASABLE, NOT_REBASER, NOT_REBASER, NOT_REBASABLE, NOT_REBASER),
    ("development", "edit", "pending"): ("edited", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "edit", "stale"): (NOT_EDITABLE, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "edit", "frozen"): ("edited", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("development", "edit", "failed"): (NOT_EDITABLE, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    # --- production: two approvals; "approved once" has approver2's -----------------------------
    ("production", "approve", "pending"): (FOUR, "pending 1 of 2", "pending 1 of 2", NOT_APPROVER, NOT_APPROVER),
    ("production", "approve", "approved once"): (FOUR, "applied", TWICE, NOT_APPROVER, NOT_APPROVER),
    ("production", "approve", "stale"): (FOUR, DECIDED, DECIDED, NOT_APPROVER, NOT_APPROVER),
    ("production", "approve", "frozen"): (FOUR, FROZEN, FROZEN, NOT_APPROVER, NOT_APPROVER),
    ("production", "approve", "failed"): (FOUR, ENOUGH, TWICE, NOT_APPROVER, NOT_APPROVER),
    ("production", "reject", "approved once"): (FOUR, "rejected", "rejected", NOT_APPROVER, NOT_APPROVER),
    ("production", "withdraw", "approved once"): ("withdrawn", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
    ("production", "retry", "approved once"): (FOUR, NOT_RETRYABLE, NOT_RETRYABLE, NOT_APPROVER, NOT_APPROVER),
    ("production", "retry", "failed"): (FOUR, "applied", "applied", NOT_APPROVER, NOT_APPROVER),
    ("production", "rebase", "approved once"): (NOT_REBASABLE, NOT_REBASER, NOT_REBASER, NOT_REBASABLE, NOT_REBASER),
    ("production", "edit", "approved once"): ("edited", NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR, NOT_AUTHOR),
}
for _action in ACTIONS:
    for _state in ("pending", "stale", "frozen", "failed"):
        TABLE.setdefault(("production", _action, _state), _dev(_action, _state))
CASES = [(tier, action, state, role) for (tier, action, state) in TABLE for role in ROLES]


@pytest.fixture
def people(staff_user, other_staff_user, approver_user, second_approver, auditor_user, django_user_model):
    third = make_user(django_user_model, "approver3", "Approvers")
    return {
        "author": staff_user,
        "approver": approver_user,
        "approver2": second_approver,
        "staff": other_staff_user,
        "auditor": auditor_user,
        "approver3": third,
    }


def _approve(change_request, user):
    change_request = ChangeRequest.objects.get(pk=change_request.pk)
    return services.change_request_approve(
        change_request=change_request, reviewer=user, digest=change_request.digest, comment="Checked."
    )


def make_state(tier: str, state: str, *, remote, spec, people) -> ChangeRequest:
    spec.sandbox.tier_override = tier
    spec.sandbox.save()
    change_request = propose(spec, people["author"], add=[ACME_EVENTS])
    approvers = [people["approver2"]] if tier == "development" else [people["approver2"], people["approver3"]]
    if state == "approved once":
        _approve(change_request, people["approver2"])
    elif state == "frozen":
        now = timezone.now()
        Freeze.objects.create(
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            sandboxes=["dev"],
            reason="Quarter close",
            created_by_username="approver",
        )
    elif state == "stale":
        changed = remote.document("dev", STREAMING_ID)
        changed["version"] = "9"
        remote.add("dev", changed)
        for approver in approvers:
            _approve(change_request, approver)
    elif state == "failed":
        remote.fail("put", server_error())
        for approver in approvers:
            _approve(change_request, approver)
    change_request = ChangeRequest.objects.get(pk=change_request.pk)
    assert change_request.status == {"stale": "stale", "failed": "failed"}.get(state, "pending")
    return change_request


def run_service(action: str, change_request: ChangeRequest, user):
    if action == "approve":
        return _approve(change_request, user)
    if action == "reject":
        return services.change_request_reject(change_request=change_request, reviewer=user, comment="No.")
    if action == "withdraw":
        return services.change_request_withdraw(change_request=change_request, actor=user)
    if action == "retry":
        return services.change_request_retry(change_request=change_request, reviewer=user)
    if action == "rebase":
        return services.change_request_rebase(change_request=change_request, actor=user)
    ids = [*change_request.proposed_document["sourceConnectionSpecIds"], SEGMENT]
    return services.change_request_edit(
        change_request=change_request, actor=user, source_ids=ids, reason="And Segment."
    )


def outcome_of(action: str, result: ChangeRequest, before: ChangeRequest) -> str:
    if action == "approve" and result.status == "pending":
        return f"pending {len(policy.approvals(result))} of {policy.requirement(result).count}"
    if action == "rebase":
        return "rebased" if result.rebased_from_id == before.pk else result.status
    if action == "edit":
        return "edited" if result.digest != before.digest else result.status
    return result.status


def expected(tier, action, state, role, change_request) -> str:
    text = TABLE[(tier, action, state)][ROLES.index(role)]
    return text.format(pk=change_request.pk, status=change_request.status)


@pytest.mark.parametrize(("tier", "action", "state", "role"), CASES)
def test_the_services_follow_the_rule_book(remote, streaming_spec, catalog, people, tier, action, state, role):
    change_request = make_state(tier, state, remote=remote, spec=streaming_spec, people=people)
    want = expected(tier, action, state, role, change_request)
    try:
        got = outcome_of(action, run_service(action, change_request, people[role]), change_request)
    except services.ChangeRequestForbidden as error:
        got = f"403 {error.message}"
    except services.ChangeRequestError as error:
        got = f"409 {error.message}"
    if want == FROZEN:
        assert got.startswith("409 Sandbox “dev” is frozen until") and "freeze #" in got
    else:
        assert got == want


BUTTONS = {
    "approve": r'action="/changes/{pk}/approve/"',
    "reject": r'action="/changes/{pk}/reject/"',
    "withdraw": r'action="/changes/{pk}/withdraw/"',
    "retry": r'action="/changes/{pk}/retry/"',
    "rebase": r'action="/changes/{pk}/rebase/"',
    "edit": r"\?edit={pk}\"",
}


def post_view(client, action: str, change_request: ChangeRequest):
    pk = change_request.pk
    if action == "edit":
        ids = [*change_request.proposed_document["sourceConnectionSpecIds"], SEGMENT]
        url = reverse("changes:edit", args=["dev", STREAMING_ID])
        data = {"editing": pk, "source_connection_spec_ids": "\n".join(ids), "reason": "And Segment.", "submit": "1"}
        return client.post(url, data)
    data = {"digest": change_request.digest, "comment": "Checked.", "confirmed": "on"}
    return client.post(reverse(f"changes:{action}", args=[pk]), data)


@pytest.mark.parametrize(("tier", "action", "state", "role"), CASES)
def test_the_pages_follow_the_same_rule_book(
    client, remote, streaming_spec, catalog, people, tier, action, state, role
):
    change_request = make_state(tier, state, remote=remote, spec=streaming_spec, people=people)
    want = expected(tier, action, state, role, change_request)
    client.force_login(people[role])
    page = client.get(reverse("changes:detail", args=[change_request.pk]))
    shown = re.search(BUTTONS[action].format(pk=change_request.pk), page.text) is not None
    # A button shows exactly when the action succeeds; during a freeze an approver is offered the
    # emergency approval (a plain one is refused with the freeze named).
    assert shown == (want in OK or want == FROZEN), html.unescape(page.text)[:0] or (tier, action, state, role)
    response = post_view(client, action, change_request)
    assert (response.status_code == 403) == want.startswith("403"), (tier, action, state, role, response.status_code)
    if want.startswith("403"):
        assert want[4:] in html.unescape(response.text)
