"""Deciding change requests: approve (the last approval needed applies it), reject, withdraw, retry,
and approve a change rebased onto the current remote document. Who may, and how many approvals a
request needs, is `flowadmin.changes.policy`'s to say."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from flowadmin import documents
from flowadmin.catalog.services import flowspec_remote_seen
from flowadmin.changes import notifications, policy, selectors
from flowadmin.changes.applying import apply, change_request_reconcile
from flowadmin.changes.common import (
    NO_ERROR,
    audit,
    conflict,
    decidable_q,
    dismissed_text,
    flow_service,
    fresh,
    username,
)
from flowadmin.changes.errors import ChangeRequestConflict, ChangeRequestError
from flowadmin.changes.messages import (
    ALREADY_APPROVED_RETRY,
    APPLIES_AS_IS,
    COMMENT_REQUIRED,
    DIGEST_MISMATCH,
    NOT_CLEAN,
    NOT_RETRYABLE,
    OTHER_REQUEST_OPEN,
    REMOTE_MOVED,
    REMOTE_READ_FAILED,
)
from flowadmin.changes.models import Approval, ChangeRequest
from flowadmin.changes.rebasing import rebase_fit, rebase_onto
from flowadmin.flowservice import FlowServiceError

Status = ChangeRequest.Status


def change_request_withdraw(*, change_request: ChangeRequest, actor, rollout=None) -> ChangeRequest:
    """The author takes back a pending (or stale) request; its approvals are dismissed."""
    policy.check_author(actor, change_request, action="change.withdrawn", rollout=rollout)
    with transaction.atomic():
        updated = ChangeRequest.objects.filter(decidable_q(), pk=change_request.pk).update(
            status=Status.WITHDRAWN, decided_at=timezone.now()
        )
        if not updated:
            raise conflict(change_request)
        dismissed = policy.dismiss_approvals(change_request, why="withdrawn")
        audit(
            change_request,
            action="change.withdrawn",
            actor=actor,
            detail=f"Withdrawn by its author.{dismissed_text(dismissed)}",
        )
    return fresh(change_request)


def change_request_reject(*, change_request: ChangeRequest, reviewer, comment: str, rollout=None) -> ChangeRequest:
    """An approver (never the author) rejects a pending (or stale) request, saying why."""
    policy.check_approver(reviewer, change_request, action="change.rejected", rollout=rollout)
    comment = (comment or "").strip()
    if not comment:
        raise ChangeRequestError(COMMENT_REQUIRED, change_request=change_request)
    with transaction.atomic():
        updated = ChangeRequest.objects.filter(decidable_q(), pk=change_request.pk).update(
            status=Status.REJECTED,
            reviewer=reviewer,
            reviewer_username=username(reviewer),
            review_comment=comment,
            decided_at=timezone.now(),
        )
        if not updated:
            raise conflict(change_request)
        audit(change_request, action="change.rejected", actor=reviewer, detail=f"Rejected: {comment}")
        decided = fresh(change_request)
        notifications.notify_decided(decided)
    return decided


def change_request_approve(
    *,
    change_request: ChangeRequest,
    reviewer,
    digest: str,
    comment: str = "",
    emergency: bool = False,
    rollout=None,
) -> ChangeRequest:
    """Record ``reviewer``'s approval; the last one its sandbox needs applies the request at once.

    ``digest`` is what the reviewed page carried: the approval is bound to exactly that change.
    How many approvals a request needs, and what they must carry (a comment on production, an
    emergency reason during a freeze), is `flowadmin.changes.policy`'s to say. Returns the request
    as it is now: pending (more approvals needed), or as the apply left it: applied, failed, stale,
    or applying (outcome unknown). A rollout applies its steps through here (``rollout=``) once its
    own approvals allow it: the rollout's approvals are the step's.
    """
    policy.check_approver(reviewer, change_request, action="change.approved", rollout=rollout)
    if digest != change_request.digest:
        raise policy.refuse(change_request, action="change.approved", actor=reviewer, message=DIGEST_MISMATCH)
    comment = (comment or "").strip()
    if rollout is not None:
        return _approve_step(change_request, reviewer=reviewer, digest=digest, rollout=rollout)
    current = fresh(change_request)
    if current.digest != digest or current.status not in (Status.PENDING, Status.FAILED):
        raise conflict(current)
    needed = policy.requirement(current)
    policy.check_approval(
        reviewer, current, needed=needed, given=policy.approvals(current), comment=comment, emergency=emergency
    )
    try:
        with transaction.atomic():
            # The row lock orders approvers who click at once: each counts the approvals before it.
            locked = ChangeRequest.objects.select_for_update().get(pk=current.pk)
            if locked.digest != digest or locked.status not in (Status.PENDING, Status.FAILED):
                raise conflict(locked)
            given = policy.approvals(locked)
            if locked.status == Status.FAILED and policy.enough(given, needed):
                raise ChangeRequestConflict(ALREADY_APPROVED_RETRY.format(pk=locked.pk), change_request=locked)
            approval = Approval.objects.create(
                change_request=locked,
                approver=reviewer,
                approver_username=username(reviewer),
                digest=digest,
                comment=comment,
                emergency=emergency,
            )
            given.append(approval)
            start = policy.enough(given, needed)
            audit(
                locked,
                action="change.approved",
                actor=reviewer,
                detail=_approval_detail(approval, count=len(given), needed=needed, applies=start),
            )
            if not start:
                return fresh(locked)
            from_status = locked.status
            ChangeRequest.objects.filter(pk=locked.pk, status=from_status).update(
                status=Status.APPLYING,
                reviewer=reviewer,
                reviewer_username=username(reviewer),
                review_comment=comment,
                decided_at=timezone.now(),
                apply_started_at=timezone.now(),
                attempts=F("attempts") + 1,
                **NO_ERROR,
            )
            started = fresh(locked)
            what = "Retry after the approvals it lacked" if from_status == Status.FAILED else "Approved"
            detail = f"{what}: attempt {started.attempts}."
            audit(started, action="change.apply_started", actor=reviewer, detail=detail)
    except IntegrityError:
        # The same approver's other click won (one approval each): this one counts for nothing.
        raise policy.refuse(
            change_request, action="change.approved", actor=reviewer, message=policy.ALREADY_APPROVED
        ) from None
    return apply(change_request=started, actor=reviewer)


def _approval_detail(approval: Approval, *, count: int, needed: policy.Requirement, applies: bool) -> str:
    kind = "Emergency approval" if approval.emergency else "Approved"
    if approval.emergency and needed.freeze is not None:
        kind += f" during freeze #{needed.freeze.pk}"
    text = f"{kind} ({count} of {needed.count} approvals: {needed.why})"
    text += "; applying it now." if applies else "; waiting for more."
    if approval.comment:
        text += f" {'Reason' if approval.emergency else 'Comment'}: {approval.comment}"
    return text


def _approve_step(change_request: ChangeRequest, *, reviewer, digest: str, rollout) -> ChangeRequest:
    """A rollout's step, its approvals counted by the rollout: approve and apply at once."""
    now = timezone.now()
    with transaction.atomic():
        approved = ChangeRequest.objects.filter(pk=change_request.pk, status=Status.PENDING, digest=digest).update(
            status=Status.APPROVED, reviewer=reviewer, reviewer_username=username(reviewer), decided_at=now
        )
        if not approved:
            raise conflict(change_request)
        audit(
            change_request,
            action="change.approved",
            actor=reviewer,
            detail=f"Approved as a step of rollout #{rollout.pk}; applying it now.",
        )
        ChangeRequest.objects.filter(pk=change_request.pk, status=Status.APPROVED).update(
            status=Status.APPLYING, apply_started_at=now, attempts=F("attempts") + 1, **NO_ERROR
        )
        started = fresh(change_request)
        audit(started, action="change.apply_started", actor=reviewer, detail=f"Attempt {started.attempts}.")
    return apply(change_request=started, actor=reviewer)


def change_request_retry(*, change_request: ChangeRequest, reviewer, rollout=None) -> ChangeRequest:
    """Apply a failed request again, after a fresh check (an attempt left ``applying`` is settled first).

    It still needs the approvals its sandbox requires now (a tier raised, a freeze since)."""
    policy.check_approver(reviewer, change_request, action="change.apply_started", rollout=rollout)
    current = fresh(change_request)
    if current.status == Status.APPLYING:
        current = change_request_reconcile(change_request=current, actor=reviewer)
        if current.status != Status.FAILED:
            return current
    if current.status != Status.FAILED:
        raise ChangeRequestConflict(NOT_RETRYABLE.format(pk=current.pk, status=current.status), change_request=current)
    if rollout is None:
        policy.check_enough(reviewer, current, action="change.apply_started")
    try:
        with transaction.atomic():
            started = ChangeRequest.objects.filter(pk=current.pk, status=Status.FAILED).update(
                status=Status.APPLYING, apply_started_at=timezone.now(), attempts=F("attempts") + 1, **NO_ERROR
            )
            if not started:
                raise conflict(current, NOT_RETRYABLE)
            current = fresh(current)
            audit(
                current,
                action="change.apply_started",
                actor=reviewer,
                detail=f"Retry: attempt {current.attempts}.",
            )
    except IntegrityError:
        other = selectors.change_request_open_for(sandbox=current.sandbox, spec_id=current.spec_id)
        raise ChangeRequestConflict(
            OTHER_REQUEST_OPEN.format(pk=other.pk if other else "?"), change_request=other
        ) from None
    return apply(change_request=current, actor=reviewer)


def change_request_approve_rebased(
    *,
    change_request: ChangeRequest,
    reviewer,
    remote_hash: str,
    comment: str = "",
    emergency: bool = False,
) -> ChangeRequest:
    """Approve the change rebased onto the current remote document, the one the approver saw.

    ``remote_hash`` is the content hash of the remote document the page showed. The remote is read
    again: when it is still that document and the id change applies cleanly to it, the request is
    rebased onto it (a new request, the same author; the old one's approvals are dismissed) and
    ``reviewer``'s approval is recorded on the new one, bound to exactly that document; the apply
    re-checks it as always. Returns the new request.
    """
    policy.check_approver(reviewer, change_request, action="change.approved")
    current = fresh(change_request)
    if not (current.status == Status.PENDING or current.is_decidable):
        raise conflict(current)
    read_at = timezone.now()
    try:
        remote = flow_service().get_flow_spec(current.sandbox, current.spec_id)
    except FlowServiceError as error:
        raise ChangeRequestConflict(REMOTE_READ_FAILED.format(error=error), change_request=current) from None
    flowspec_remote_seen(sandbox_name=current.sandbox, document=remote, actor=reviewer, read_at=read_at)
    found = documents.content_hash(remote)
    if found == current.base_hash:
        raise ChangeRequestConflict(APPLIES_AS_IS, change_request=current)
    if found != remote_hash:
        raise ChangeRequestConflict(REMOTE_MOVED, change_request=current)
    fit = rebase_fit(current, remote)
    if not fit.clean:
        raise ChangeRequestConflict(NOT_CLEAN.format(why=fit.why), change_request=current)
    rebased = rebase_onto(current, remote, actor=reviewer, added=fit.added, removed=fit.removed)
    return change_request_approve(
        change_request=rebased, reviewer=reviewer, digest=rebased.digest, comment=comment, emergency=emergency
    )
