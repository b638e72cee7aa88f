"""Deciding a rollout: approve (and start its run), resume, rebase a stale step, reject, withdraw."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from flowadmin.changes import services as changes
from flowadmin.changes.common import username
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import policy, selectors, tasks
from flowadmin.rollouts.common import audit, claim, conflict, fresh, grace, steps_digest
from flowadmin.rollouts.errors import RolloutConflict, RolloutError, RolloutForbidden
from flowadmin.rollouts.messages import (
    ALREADY_APPROVED,
    COMMENT_REQUIRED,
    DIGEST_MISMATCH,
    NEEDS_REBASE,
    NOT_REBASABLE,
    NOT_RESUMABLE,
    STILL_RUNNING,
)
from flowadmin.rollouts.models import Rollout, RolloutApproval
from flowadmin.rollouts.running import next_step_allowed

Status = Rollout.Status
CRStatus = ChangeRequest.Status


# --- approve -------------------------------------------------------------------------------------
def rollout_approve(*, rollout: Rollout, approver, digest: str, comment: str = "", emergency: bool = False) -> Rollout:
    """Record ``approver``'s approval of the rollout as reviewed (``digest``) and apply what it allows.

    Refused for the author (superusers too), for a second approval by the same approver, and for a
    digest that is not the rollout's. An approval that may start a production step carries a
    comment; an emergency one (during a freeze) a reason. A pending rollout whose next step now has
    enough approvals is applied at once (see the module docstring); returns the rollout as that left it.
    """
    policy.check_approver(approver, rollout, action="rollout.approved")
    current = fresh(rollout)
    if digest != current.digest:
        raise policy.refuse(current, action="rollout.approved", actor=approver, message=DIGEST_MISMATCH)
    if current.status not in Rollout.OPEN_STATUSES:
        raise conflict(current)
    given = policy.approvals(current)
    if any(approval.approver_id == approver.pk for approval in given):
        raise policy.refuse(current, action="rollout.approved", actor=approver, message=ALREADY_APPROVED)
    comment = (comment or "").strip()
    if emergency and not comment:
        raise RolloutError(policy.EMERGENCY_NEEDS_REASON, rollout=current)
    if not comment and policy.comment_required(selectors.rollout_steps(rollout=current)):
        raise RolloutError(policy.COMMENT_REQUIRED, rollout=current)
    try:
        with transaction.atomic():
            still = Rollout.objects.select_for_update().filter(
                pk=current.pk, status__in=Rollout.OPEN_STATUSES, digest=digest
            )
            if not still.exists():
                raise conflict(current)
            RolloutApproval.objects.create(
                rollout=current,
                approver=approver,
                approver_username=username(approver),
                digest=digest,
                comment=comment,
                emergency=emergency,
            )
            count = len(given) + 1
            kind = "Emergency approval" if emergency else "Approved"
            said = f" {'Reason' if emergency else 'Comment'}: {comment}" if comment else ""
            audit(
                current,
                action="rollout.approved",
                actor=approver,
                detail=f"{kind} ({count} approval{'s' if count != 1 else ''}; each sandbox needs what its tier "
                f"requires).{said}",
            )
    except IntegrityError:
        raise policy.refuse(current, action="rollout.approved", actor=approver, message=ALREADY_APPROVED) from None
    current = fresh(current)
    if current.status == Status.PENDING and next_step_allowed(current):
        token = claim(current, from_statuses=(Status.PENDING,))
        if token is not None:
            return tasks.rollout_run_enqueue(rollout=current, actor=approver, token=token)  # a worker runs it
    return fresh(current)


# --- resume --------------------------------------------------------------------------------------
def rollout_resume(*, rollout: Rollout, approver) -> Rollout:
    """An approver (never the author) carries a stopped rollout on from the step it stopped at.

    That step's change request goes through `change_request_retry` (an unknown outcome is settled by
    reading the flow spec back first; then the stale check and the PUT), then the run continues;
    applied steps are skipped. A rollout left ``applying`` by a run that gave no sign of life for
    ``FLOWADMIN_APPLY_GRACE_SECONDS`` is taken over. A stale step must be rebased first.
    """
    policy.check_approver(approver, rollout, action="rollout.resumed")
    current = fresh(rollout)
    abandoned_before = timezone.now() - grace()
    if current.status == Status.APPLYING:
        if current.run_heartbeat_at is not None and current.run_heartbeat_at >= abandoned_before:
            raise RolloutConflict(STILL_RUNNING.format(pk=current.pk), rollout=current)
    elif current.status != Status.STOPPED:
        raise conflict(current, NOT_RESUMABLE)
    step = selectors.rollout_next_step(steps=selectors.rollout_steps(rollout=current))
    if step is not None and step.change_request.status == CRStatus.STALE:
        raise RolloutConflict(NEEDS_REBASE.format(position=step.position, sandbox=step.sandbox), rollout=current)
    if step is not None:
        needed = policy.step_requirement(step)
        if needed.freeze is not None and not policy.step_enough(policy.approvals(current), needed):
            message = policy.step_waiting(step, policy.approvals(current), needed)
            policy.refuse(current, action="rollout.resumed", actor=approver, message=message, step=step)
            raise RolloutConflict(message, rollout=current)
    token = claim(current, from_statuses=(Status.STOPPED,), abandoned_before=abandoned_before)
    if token is None:
        raise conflict(current, NOT_RESUMABLE)
    where = f" at step {step.position} ({step.sandbox})" if step is not None else ""
    audit(current, action="rollout.resumed", actor=approver, step=step, detail=f"Resumed{where}.")
    return tasks.rollout_run_enqueue(rollout=current, actor=approver, token=token)  # a worker runs it


# --- rebase a stale step -------------------------------------------------------------------------
def rollout_step_rebase(*, rollout: Rollout, position: int, actor) -> Rollout:
    """Rebase a stopped rollout's stale step onto the remote document it met (`change_request_rebase`).

    The step gets the new pending change request, the rollout a new digest, so the approvals given
    so far stop counting: the rollout is ``pending`` again and is reviewed anew. Applied steps stay.
    """
    policy.check_rebaser(actor, rollout, action="rollout.step_rebased")
    current = fresh(rollout)
    step = selectors.rollout_step_get(rollout=current, position=position)
    stale = step.change_request
    if current.status != Status.STOPPED or stale.status != CRStatus.STALE or stale.superseded_at is not None:
        raise RolloutConflict(NOT_REBASABLE.format(position=position, pk=current.pk), rollout=current)
    try:
        with transaction.atomic():
            rebased = changes.change_request_rebase(change_request=stale, actor=actor, rollout=current)
            step.change_request = rebased
            step.save(update_fields=["change_request"])
            digest = steps_digest(current, selectors.rollout_steps(rollout=current))
            reopened = Rollout.objects.filter(pk=current.pk, status=Status.STOPPED, digest=current.digest).update(
                status=Status.PENDING, digest=digest, stop_detail="", stopped_position=None
            )
            if not reopened:
                raise conflict(current)
            audit(
                current,
                action="rollout.step_rebased",
                actor=actor,
                step=step,
                detail=f"Step {position} ({step.sandbox}) rebased: change request #{stale.pk} became #{rebased.pk}; "
                "the rollout needs its approvals again.",
            )
    except changes.ChangeRequestForbidden as error:
        raise RolloutForbidden(error.message, rollout=current) from None
    except changes.ChangeRequestError as error:
        raise RolloutConflict(error.message, problems=error.problems, rollout=current) from None
    return fresh(current)


# --- reject, withdraw ----------------------------------------------------------------------------
def rollout_reject(*, rollout: Rollout, reviewer, comment: str) -> Rollout:
    """An approver (never the author) rejects a pending or stopped rollout; its steps not applied yet are
    rejected with it (applied ones stay applied: revert them with a change request or a new rollout)."""
    policy.check_approver(reviewer, rollout, action="rollout.rejected")
    comment = (comment or "").strip()
    if not comment:
        raise RolloutError(COMMENT_REQUIRED, rollout=rollout)
    return _close(
        rollout,
        actor=reviewer,
        status=Status.REJECTED,
        fields={"reviewer": reviewer, "reviewer_username": username(reviewer), "review_comment": comment},
        detail=f"Rejected: {comment}",
        close_step=lambda change_request, current: changes.change_request_reject(
            change_request=change_request,
            reviewer=reviewer,
            comment=f"Rollout #{current.pk} was rejected: {comment}",
            rollout=current,
        ),
    )


def rollout_withdraw(*, rollout: Rollout, actor) -> Rollout:
    """The author takes back a pending or stopped rollout (its steps not applied yet with it)."""
    policy.check_author(actor, rollout, action="rollout.withdrawn")
    return _close(
        rollout,
        actor=actor,
        status=Status.WITHDRAWN,
        fields={},
        detail="Withdrawn by its author.",
        close_step=lambda change_request, current: changes.change_request_withdraw(
            change_request=change_request, actor=actor, rollout=current
        ),
    )


def _close(rollout: Rollout, *, actor, status: str, fields: dict, detail: str, close_step) -> Rollout:
    current = fresh(rollout)
    try:
        with transaction.atomic():
            closed = Rollout.objects.filter(pk=current.pk, status__in=(Status.PENDING, Status.STOPPED)).update(
                status=status, decided_at=timezone.now(), **fields
            )
            if not closed:
                raise conflict(current)
            for step in selectors.rollout_steps(rollout=current):
                if step.change_request.is_decidable:
                    close_step(step.change_request, current)
            audit(current, action=f"rollout.{status}", actor=actor, detail=detail)
    except changes.ChangeRequestForbidden as error:
        raise RolloutForbidden(error.message, rollout=current) from None
    except changes.ChangeRequestConflict as error:
        raise RolloutConflict(error.message, rollout=current) from None
    return fresh(current)
