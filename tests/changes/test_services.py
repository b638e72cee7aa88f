"""The change-request services against a fake Flow Service (the emulator tests cover real HTTP)."""

import pytest
from django.utils import timezone
from django_q.models import Schedule

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, FlowSpecVersion
from flowadmin.catalog.services import flowspec_cache_store
from flowadmin.changes import services
from flowadmin.changes.ids import ATTACHED
from flowadmin.changes.ids import UNKNOWN as UNKNOWN_ID
from flowadmin.changes.models import ChangeRequest
from flowadmin.changes.services import (
    ALREADY_DECIDED,
    COMMENT_REQUIRED,
    DIGEST_MISMATCH,
    EMPTY_NEEDS_CONFIRMATION,
    FOUR_EYES,
    INVALID_IDS,
    NOT_APPROVER,
    NOT_AUTHOR,
    NOT_PROPOSER,
    NOT_REBASER,
    NOTHING_CHANGES,
    OPEN_REQUEST_EXISTS,
    OTHER_REQUEST_OPEN,
    REASON_REQUIRED,
    REBASE_NOTHING_LEFT,
    ChangeRequestConflict,
    ChangeRequestError,
    ChangeRequestForbidden,
    ProposalError,
)
from tests.catalog.factories import make_flowspec
from tests.changes.conftest import (
    ACME_EVENTS,
    ACME_LOYALTY,
    BRAZE,
    CUSTOMER_IO,
    REST_ID,
    SEGMENT,
    STREAMING_ID,
    UNKNOWN,
)
from tests.changes.factories import propose
from tests.changes.fakes import server_error, unknown_outcome

pytestmark = pytest.mark.django_db


def events(change_request) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(change_request_id=change_request.pk).order_by("seq").values_list("action", "outcome")
    )


def approve(change_request, reviewer):
    return services.change_request_approve(
        change_request=change_request, reviewer=reviewer, digest=change_request.digest
    )


def snapshot(change_request):
    """What a refused action must leave exactly as it was."""
    row = ChangeRequest.objects.get(pk=change_request.pk)
    return (row.status, row.reviewer_id, row.decided_at, row.attempts, row.superseded_at, AuditEvent.objects.count())


# --- propose -----------------------------------------------------------------------------------
def test_propose_records_the_base_the_ids_and_the_digest(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS], remove=[BRAZE], reason="Acme goes live")
    assert change_request.status == "pending"
    assert change_request.base_document == streaming_spec.document
    assert change_request.base_hash == streaming_spec.content_hash
    assert change_request.added_ids == [ACME_EVENTS]
    assert change_request.removed_ids == [BRAZE]
    assert documents.source_ids(change_request.proposed_document) == [CUSTOMER_IO, ACME_EVENTS]
    assert documents.put_body(change_request.proposed_document) == documents.put_body(
        documents.with_source_ids(streaming_spec.document, [CUSTOMER_IO, ACME_EVENTS])
    )
    assert change_request.author == staff_user
    assert change_request.flow_spec == streaming_spec
    assert len(change_request.digest) == 64
    assert events(change_request) == [("change.proposed", "success")]
    event = AuditEvent.objects.get(change_request_id=change_request.pk)
    assert event.actor == staff_user
    assert "Acme goes live" in event.detail
    assert {"op": "add", "path": "/sourceConnectionSpecIds/1", "value": ACME_EVENTS} in event.patch
    assert remote.calls == [("list_flows", "dev", "")]  # proposing reads only the dataflows the removal affects


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([BRAZE, CUSTOMER_IO], NOTHING_CHANGES),
        ([CUSTOMER_IO, BRAZE], NOTHING_CHANGES),
        ([BRAZE, CUSTOMER_IO, UNKNOWN], INVALID_IDS),
        ([BRAZE, CUSTOMER_IO, ACME_LOYALTY], INVALID_IDS),
        ([BRAZE, "not-a-uuid"], INVALID_IDS),
        ([], EMPTY_NEEDS_CONFIRMATION),
    ],
)
def test_propose_refuses_and_writes_nothing(remote, streaming_spec, staff_user, ids, message):
    with pytest.raises(ProposalError) as refused:
        services.change_request_propose(flow_spec=streaming_spec, source_ids=ids, reason="why", author=staff_user)
    assert refused.value.message == message
    assert ChangeRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_propose_lists_every_problem_line_by_line(remote, streaming_spec, staff_user):
    with pytest.raises(ProposalError) as refused:
        services.change_request_propose(
            flow_spec=streaming_spec, source_ids=[BRAZE, UNKNOWN, ACME_LOYALTY], reason="why", author=staff_user
        )
    assert refused.value.problems == [
        UNKNOWN_ID.format(line=2, id=UNKNOWN, sandbox="dev"),
        ATTACHED.format(line=3, id=ACME_LOYALTY, name="RestStorageToAEP", spec_id=REST_ID),
    ]


def test_an_empty_list_needs_the_explicit_confirmation(remote, streaming_spec, staff_user):
    change_request = services.change_request_propose(
        flow_spec=streaming_spec, source_ids=[], reason="Retire the spec", author=staff_user, confirm_empty=True
    )
    assert change_request.removed_ids == [BRAZE, CUSTOMER_IO]
    assert documents.source_ids(change_request.proposed_document) == []


def test_propose_needs_a_reason(remote, streaming_spec, staff_user):
    with pytest.raises(ProposalError) as refused:
        services.change_request_propose(flow_spec=streaming_spec, source_ids=[BRAZE], reason="  ", author=staff_user)
    assert refused.value.message == REASON_REQUIRED
    assert ChangeRequest.objects.count() == 0


def test_propose_needs_the_staff_role(remote, streaming_spec, viewer_user, approver_user):
    for user in (viewer_user, approver_user):
        with pytest.raises(ChangeRequestForbidden) as refused:
            services.change_request_propose(flow_spec=streaming_spec, source_ids=[BRAZE], reason="x", author=user)
        assert refused.value.message == NOT_PROPOSER
    assert ChangeRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_second_proposal_is_refused_with_the_open_one(remote, streaming_spec, staff_user, other_staff_user):
    first = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    with pytest.raises(ProposalError) as refused:
        propose(streaming_spec, other_staff_user, add=[SEGMENT])
    assert refused.value.message == OPEN_REQUEST_EXISTS.format(pk=first.pk)
    assert refused.value.change_request == first
    assert ChangeRequest.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_another_flow_spec_may_have_its_own_open_request(remote, streaming_spec, rest_spec, staff_user):
    propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    assert propose(rest_spec, staff_user, add=[SEGMENT]).status == "pending"


# --- withdraw and reject -----------------------------------------------------------------------
def test_the_author_withdraws(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    withdrawn = services.change_request_withdraw(change_request=change_request, actor=staff_user)
    assert withdrawn.status == "withdrawn"
    assert withdrawn.decided_at is not None
    assert events(change_request)[-1] == ("change.withdrawn", "success")
    assert propose(streaming_spec, staff_user, add=[SEGMENT]).status == "pending"  # no longer open


@pytest.mark.parametrize("who", ["other_staff_user", "approver_user", "superuser"])
def test_only_the_author_withdraws(request, remote, streaming_spec, staff_user, who):
    actor = request.getfixturevalue(who)
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestForbidden) as refused:
        services.change_request_withdraw(change_request=change_request, actor=actor)
    assert refused.value.message == NOT_AUTHOR
    status, *_ = snapshot(change_request)
    assert status == "pending"
    assert snapshot(change_request)[:5] == before[:5]
    assert events(change_request)[-1] == ("change.withdrawn", "failure")  # the attempt is on record


def test_reject_needs_a_comment(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestError) as refused:
        services.change_request_reject(change_request=change_request, reviewer=approver_user, comment="   ")
    assert refused.value.message == COMMENT_REQUIRED
    assert snapshot(change_request) == before


def test_an_approver_rejects_with_a_comment(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    rejected = services.change_request_reject(
        change_request=change_request, reviewer=approver_user, comment="Not this quarter"
    )
    assert (rejected.status, rejected.reviewer, rejected.review_comment) == (
        "rejected",
        approver_user,
        "Not this quarter",
    )
    assert events(change_request)[-1] == ("change.rejected", "success")
    assert remote.calls == []


def test_reject_refuses_the_author_even_a_superuser(remote, streaming_spec, superuser):
    change_request = propose(streaming_spec, superuser, add=[ACME_EVENTS])
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestForbidden) as refused:
        services.change_request_reject(change_request=change_request, reviewer=superuser, comment="mine")
    assert refused.value.message == FOUR_EYES
    assert snapshot(change_request)[:5] == before[:5]


def test_reject_after_a_decision_changes_nothing(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    services.change_request_withdraw(change_request=change_request, actor=staff_user)
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestConflict) as refused:
        services.change_request_reject(change_request=change_request, reviewer=approver_user, comment="no")
    assert refused.value.message == ALREADY_DECIDED.format(pk=change_request.pk, status="withdrawn")
    assert snapshot(change_request) == before


# --- approve and apply -------------------------------------------------------------------------
def test_approve_puts_the_re_read_document_with_only_the_ids_changed(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    before_remote = remote.document("dev", STREAMING_ID)

    applied = approve(change_request, approver_user)

    assert applied.status == "applied"
    assert applied.reviewer == approver_user
    assert applied.applied_at is not None
    assert applied.attempts == 1
    assert remote.count("put") == 1
    [body] = remote.puts
    assert body == documents.put_body(documents.with_source_ids(before_remote, [BRAZE, CUSTOMER_IO, ACME_EVENTS]))
    assert body["x-internalTier"] == "self-serve-streaming"  # unknown fields go back unchanged
    assert not set(body) & documents.READ_ONLY_FIELDS
    after_remote = remote.document("dev", STREAMING_ID)
    assert documents.put_body(after_remote) == body


def test_an_applied_change_updates_the_cache_and_its_history(remote, streaming_spec, staff_user, approver_user):
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    cached = FlowSpec.objects.get(pk=streaming_spec.pk)
    assert documents.source_ids(cached.document) == [BRAZE, CUSTOMER_IO, ACME_EVENTS]
    assert cached.attachments.filter(connection_spec_id=ACME_EVENTS).exists()
    latest = FlowSpecVersion.objects.filter(flow_spec=cached).order_by("-seen_at", "-id").first()
    assert (latest.origin, latest.change_request_id) == ("flowadmin", change_request.pk)


def test_the_audit_trail_tells_the_story_in_order(remote, streaming_spec, staff_user, approver_user):
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert events(change_request) == [
        ("change.proposed", "success"),
        ("change.approved", "success"),
        ("change.apply_started", "success"),
        ("change.applied", "success"),
    ]
    applied = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.applied")
    assert applied.actor == approver_user
    assert [(exchange["method"], exchange["status"]) for exchange in applied.exchanges] == [
        ("GET", 200),
        ("PUT", 200),
        ("GET", 200),
    ]
    assert applied.patch == [{"op": "add", "path": "/sourceConnectionSpecIds/2", "value": ACME_EVENTS}]


def test_approve_refuses_the_author(remote, streaming_spec, superuser):
    change_request = propose(streaming_spec, superuser, add=[ACME_EVENTS])
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestForbidden) as refused:
        approve(change_request, superuser)
    assert refused.value.message == FOUR_EYES
    assert snapshot(change_request)[:5] == before[:5]
    assert events(change_request)[-1] == ("change.approved", "failure")
    assert remote.calls == []


def test_approve_needs_the_approver_role(remote, streaming_spec, staff_user, other_staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    with pytest.raises(ChangeRequestForbidden) as refused:
        approve(change_request, other_staff_user)
    assert refused.value.message == NOT_APPROVER
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "pending"
    assert remote.calls == []


def test_approve_is_bound_to_the_reviewed_digest(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestForbidden) as refused:
        services.change_request_approve(change_request=change_request, reviewer=approver_user, digest="0" * 64)
    assert refused.value.message == DIGEST_MISMATCH
    assert snapshot(change_request)[:5] == before[:5]
    assert remote.calls == []


def test_a_replayed_approval_sends_nothing(remote, streaming_spec, staff_user, approver_user, second_approver):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    approve(change_request, approver_user)
    before = snapshot(change_request)
    for reviewer in (approver_user, second_approver):
        with pytest.raises(ChangeRequestConflict) as refused:
            approve(change_request, reviewer)
        assert refused.value.message == ALREADY_DECIDED.format(pk=change_request.pk, status="applied")
    assert snapshot(change_request) == before
    assert remote.count("put") == 1


def test_a_remote_change_since_the_base_makes_the_request_stale(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["sourceConnectionSpecIds"].append(SEGMENT)
    changed["version"] = "1.1"
    remote.add("dev", changed)

    stale = approve(change_request, approver_user)

    assert stale.status == "stale"
    assert remote.count("put") == 0
    assert stale.remote_document == changed
    assert events(change_request)[-1] == ("change.stale", "success")
    event = AuditEvent.objects.get(change_request_id=change_request.pk, action="change.stale")
    assert event.after == changed


def test_rebase_makes_a_new_pending_request_on_the_remote_document(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS], remove=[BRAZE])
    changed = remote.document("dev", STREAMING_ID)
    changed["sourceConnectionSpecIds"].append(SEGMENT)
    remote.add("dev", changed)
    approve(change_request, approver_user)

    rebased = services.change_request_rebase(change_request=change_request, actor=staff_user)

    old = ChangeRequest.objects.get(pk=change_request.pk)
    assert old.superseded_at is not None
    assert list(old.rebased_into.all()) == [rebased]
    assert rebased.rebased_from == old
    assert (rebased.status, rebased.author, rebased.reason) == ("pending", staff_user, old.reason)
    assert rebased.base_hash == documents.content_hash(changed)
    assert (rebased.added_ids, rebased.removed_ids) == ([ACME_EVENTS], [BRAZE])
    assert documents.source_ids(rebased.proposed_document) == [CUSTOMER_IO, SEGMENT, ACME_EVENTS]
    assert events(rebased) == [("change.rebased", "success")]

    applied = approve(rebased, approver_user)
    assert applied.status == "applied"
    # the remote change (SEGMENT) survived: no lost update
    assert documents.source_ids(remote.document("dev", STREAMING_ID)) == [CUSTOMER_IO, SEGMENT, ACME_EVENTS]


def test_rebase_is_refused_when_the_remote_already_has_the_change(remote, streaming_spec, staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["sourceConnectionSpecIds"].append(ACME_EVENTS)
    remote.add("dev", changed)
    approve(change_request, approver_user)
    before = snapshot(change_request)
    with pytest.raises(ChangeRequestConflict) as refused:
        services.change_request_rebase(change_request=change_request, actor=staff_user)
    assert refused.value.message == REBASE_NOTHING_LEFT
    assert snapshot(change_request) == before


def test_rebase_is_for_the_author_or_staff(remote, streaming_spec, staff_user, other_staff_user, approver_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["version"] = "2.0"
    remote.add("dev", changed)
    approve(change_request, approver_user)
    with pytest.raises(ChangeRequestForbidden) as refused:
        services.change_request_rebase(change_request=change_request, actor=approver_user)
    assert refused.value.message == NOT_REBASER
    assert ChangeRequest.objects.count() == 1
    rebased = services.change_request_rebase(change_request=change_request, actor=other_staff_user)
    assert rebased.author == staff_user


def test_a_failed_read_fails_the_request_without_a_put(remote, streaming_spec, staff_user, approver_user):
    remote.fail("get", server_error(500, title="Internal server error", request_id="req-500"))
    failed = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert failed.status == "failed"
    assert (failed.error_status, failed.error_title, failed.error_request_id) == (
        500,
        "Internal server error",
        "req-500",
    )
    assert remote.count("put") == 0
    assert events(failed)[-1] == ("change.apply_failed", "failure")


def test_a_failed_put_is_shown_and_retried_by_an_approver(
    remote, streaming_spec, staff_user, approver_user, second_approver
):
    remote.fail("put", server_error(503, title="Service unavailable", request_id="req-503"))
    failed = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert failed.status == "failed"
    assert (failed.error_status, failed.error_code, failed.error_title) == (503, "FLOW-1103-503", "Service unavailable")
    assert failed.error_detail == "The service is busy, try later."
    assert failed.error_request_id == "req-503"
    event = AuditEvent.objects.filter(change_request_id=failed.pk, action="change.apply_failed").get()
    assert event.outcome == "failure"
    assert [exchange["status"] for exchange in event.exchanges] == [200, 503]

    retried = services.change_request_retry(change_request=failed, reviewer=second_approver)

    assert retried.status == "applied"
    assert retried.attempts == 2
    assert not retried.has_error
    assert remote.count("put") == 2
    assert [action for action, _ in events(retried)][-3:] == [
        "change.apply_failed",
        "change.apply_started",
        "change.applied",
    ]


def test_retry_refuses_the_author_and_non_approvers(remote, streaming_spec, superuser, staff_user):
    remote.fail("put", server_error())
    change_request = propose(streaming_spec, superuser, add=[ACME_EVENTS])
    ChangeRequest.objects.filter(pk=change_request.pk).update(status="failed")
    for actor, message in ((superuser, FOUR_EYES), (staff_user, NOT_APPROVER)):
        with pytest.raises(ChangeRequestForbidden) as refused:
            services.change_request_retry(change_request=change_request, reviewer=actor)
        assert refused.value.message == message
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "failed"
    assert remote.calls == []


def test_retry_is_refused_while_another_request_is_open(
    remote, streaming_spec, staff_user, other_staff_user, approver_user
):
    remote.fail("put", server_error())
    failed = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    other = propose(streaming_spec, other_staff_user, add=[SEGMENT])
    with pytest.raises(ChangeRequestConflict) as refused:
        services.change_request_retry(change_request=failed, reviewer=approver_user)
    assert refused.value.message == OTHER_REQUEST_OPEN.format(pk=other.pk)
    assert ChangeRequest.objects.get(pk=failed.pk).status == "failed"
    assert remote.count("put") == 1


def test_a_document_that_fails_the_schema_is_never_sent(remote, dev, catalog, staff_user, approver_user):
    broken = make_flowspec(dev, "14518937-270c-4525-bdec-c2ba7cce3860", "CRMToAEP", version="", sources=[])
    remote.add("dev", broken.document)
    failed = approve(propose(broken, staff_user, add=[SEGMENT]), approver_user)
    assert failed.status == "failed"
    assert failed.error_code == services.CODE_SCHEMA_INVALID
    assert "version" in failed.error_detail
    assert remote.count("put") == 0


def test_an_answer_without_the_ids_fails_verification(remote, streaming_spec, staff_user, approver_user):
    remote.answer_override = lambda document: {**document, "sourceConnectionSpecIds": [BRAZE]}
    failed = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert failed.status == "failed"
    assert failed.error_code == services.CODE_VERIFICATION
    assert ACME_EVENTS in failed.error_detail


# --- unknown outcomes and reconcile ------------------------------------------------------------
def test_a_lost_answer_leaves_the_request_applying(remote, streaming_spec, staff_user, approver_user):
    remote.fail("put", unknown_outcome(applied=True))
    result = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert result.status == "applying"
    assert result.outcome_unknown
    assert events(result)[-1] == ("change.apply_failed", "unknown")


@pytest.mark.parametrize(("applied", "settled"), [(True, "applied"), (False, "failed")])
def test_reconcile_settles_a_lost_answer_both_ways(
    remote, streaming_spec, staff_user, approver_user, grace_zero, applied, settled
):
    remote.fail("put", unknown_outcome(applied=applied))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)

    [result] = services.change_requests_reconcile()

    assert result.error == ""
    assert result.change_request.status == settled
    assert events(change_request)[-1] == ("change.reconciled", "success" if applied else "failure")
    cached = FlowSpec.objects.get(pk=streaming_spec.pk)
    assert (ACME_EVENTS in documents.source_ids(cached.document)) is applied
    assert remote.count("put") == 1


def test_reconcile_leaves_a_request_being_applied_right_now(remote, streaming_spec, staff_user, approver_user):
    remote.fail("put", unknown_outcome(applied=True))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    assert services.change_requests_reconcile() == []
    with pytest.raises(ChangeRequestConflict):
        services.change_request_reconcile(change_request=change_request)
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applying"


def test_reconcile_takes_requests_older_than_the_grace_period(remote, streaming_spec, staff_user, approver_user):
    remote.fail("put", unknown_outcome(applied=True))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    ChangeRequest.objects.filter(pk=change_request.pk).update(
        apply_started_at=timezone.now() - timezone.timedelta(seconds=61)
    )
    [result] = services.change_requests_reconcile()
    assert result.change_request.status == "applied"


def test_reconcile_that_cannot_read_leaves_the_request_applying(
    remote, streaming_spec, staff_user, approver_user, grace_zero
):
    remote.fail("put", unknown_outcome(applied=True))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    remote.fail("get", server_error(502))
    [result] = services.change_requests_reconcile()
    assert "Could not read" in result.error
    assert ChangeRequest.objects.get(pk=change_request.pk).status == "applying"


def test_retry_settles_an_unknown_outcome_before_sending_again(
    remote, streaming_spec, staff_user, approver_user, grace_zero
):
    remote.fail("put", unknown_outcome(applied=True))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    settled = services.change_request_retry(change_request=change_request, reviewer=approver_user)
    assert settled.status == "applied"
    assert remote.count("put") == 1  # it had been applied: nothing sent twice


def test_retry_after_a_lost_put_that_never_landed_sends_it_again(
    remote, streaming_spec, staff_user, approver_user, grace_zero
):
    remote.fail("put", unknown_outcome(applied=False))
    change_request = approve(propose(streaming_spec, staff_user, add=[ACME_EVENTS]), approver_user)
    retried = services.change_request_retry(change_request=change_request, reviewer=approver_user)
    assert retried.status == "applied"
    assert remote.count("put") == 2
    assert [action for action, _ in events(retried)][-4:] == [
        "change.apply_failed",
        "change.reconciled",
        "change.apply_started",
        "change.applied",
    ]


# --- check -------------------------------------------------------------------------------------
def test_check_says_the_request_applies_as_reviewed(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    check = services.change_request_check(change_request=change_request)
    assert check.state == "applies"
    assert AuditEvent.objects.count() == 1


def test_check_shows_what_changed_remotely(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["version"] = "1.1"
    remote.add("dev", changed)
    check = services.change_request_check(change_request=change_request)
    assert check.state == "rebase"
    assert [line.text.strip() for line in check.diff if line.kind in ("add", "del")] == [
        '"version": "1.0",',
        '"version": "1.1",',
    ]


def test_a_check_that_read_the_remote_before_an_apply_landed_leaves_the_applied_document_cached(
    remote, streaming_spec, staff_user
):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    applied = remote.document("dev", STREAMING_ID)
    applied["sourceConnectionSpecIds"].append(ACME_EVENTS)

    def apply_lands_meanwhile(sandbox, spec_id, number):  # the check's answer is the document before it
        flowspec_cache_store(sandbox_name="dev", document=applied, origin="flowadmin")

    remote.on_get = apply_lands_meanwhile
    services.change_request_check(change_request=change_request)

    cached = FlowSpec.objects.get(sandbox__name="dev", spec_id=STREAMING_ID)
    assert ACME_EVENTS in cached.document["sourceConnectionSpecIds"], "the older answer did not roll the cache back"
    assert not AuditEvent.objects.filter(action="flowspec.changed_remotely").exists()


def test_check_says_when_the_remote_has_the_change_already(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    changed = remote.document("dev", STREAMING_ID)
    changed["sourceConnectionSpecIds"].append(ACME_EVENTS)
    remote.add("dev", changed)
    assert services.change_request_check(change_request=change_request).state == "done"


def test_check_shows_the_remote_error(remote, streaming_spec, staff_user):
    change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    remote.fail("get", server_error(503, title="Service unavailable", request_id="req-xyz"))
    check = services.change_request_check(change_request=change_request)
    assert check.state == "error"
    assert (check.error["title"], check.error["request_id"]) == ("Service unavailable", "req-xyz")


# --- notifications -----------------------------------------------------------------------------
def test_approvers_hear_of_a_new_request_and_authors_of_decisions(
    remote,
    streaming_spec,
    staff_user,
    approver_user,
    second_approver,
    mailoutbox,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.FLOWADMIN_BASE_URL = "https://flowadmin.example"
    for user, email in ((staff_user, "staff@example.com"), (approver_user, "approver@example.com")):
        user.email = email
        user.save()
    with django_capture_on_commit_callbacks(execute=True):
        change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    [proposed] = mailoutbox
    assert proposed.to == ["approver@example.com"]  # second_approver has no address; the author is not told
    assert f"https://flowadmin.example/changes/{change_request.pk}/" in proposed.body
    with django_capture_on_commit_callbacks(execute=True):
        approve(change_request, approver_user)
    decided = mailoutbox[-1]
    assert decided.to == ["staff@example.com"]
    assert "applied" in decided.subject


def test_a_failing_mail_server_never_breaks_the_action(
    remote, streaming_spec, staff_user, approver_user, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    approver_user.email = "approver@example.com"
    approver_user.save()

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("flowadmin.tasks.mail.send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        change_request = propose(streaming_spec, staff_user, add=[ACME_EVENTS])
    assert change_request.status == "pending"
    assert "could not send the e-mail" in caplog.text
    [retry] = Schedule.objects.filter(func="flowadmin.tasks.mail.mail_send")  # sent again later
    assert "approver@example.com" in retry.args
