"""The run of a rollout, as a worker does it: the steps in order while the claim is held.

See `flowadmin.rollouts.services` for the guarantees; `flowadmin.rollouts.tasks` hands a claimed run to
a worker, which calls `run_claimed`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowadmin.changes import services as changes
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import notifications, policy, selectors
from flowadmin.rollouts.common import audit, claim, fresh, held
from flowadmin.rollouts.messages import STOP_CLOSED, STOP_FAILED, STOP_FROZEN, STOP_REFUSED, STOP_STALE, STOP_UNKNOWN
from flowadmin.rollouts.models import Rollout, RolloutStep

Status = Rollout.Status
CRStatus = ChangeRequest.Status


# --- the run -------------------------------------------------------------------------------------


def run_claimed(*, rollout: Rollout, actor, token: str) -> Rollout:
    """Apply the steps in order while the claim is ours; see the module docstring."""
    passes = len(selectors.rollout_steps(rollout=rollout)) + 1  # each pass applies a step or ends the run
    for _ in range(passes):
        if _run_steps(rollout=rollout, actor=actor, token=token) != "waiting":
            break
        # Given back for approvals: one may have landed meanwhile, whose approver saw the run going.
        current = fresh(rollout)
        if current.status != Status.PENDING or not next_step_allowed(current):
            break
        token = claim(current, from_statuses=(Status.PENDING,))
        if token is None:
            break
    return fresh(rollout)


def _run_steps(*, rollout: Rollout, actor, token: str) -> str:
    """One pass over the steps: ``completed``, ``stopped``, ``waiting`` (for approvals) or ``lost`` (claim gone)."""
    current = fresh(rollout)
    for step in selectors.rollout_steps(rollout=current):
        if not held(current, token).update(run_heartbeat_at=timezone.now()):
            return "lost"
        change_request = ChangeRequest.objects.get(pk=step.change_request_id)
        status = change_request.status
        if status == CRStatus.APPLIED:
            continue
        if status == CRStatus.STALE:
            _stop(current, token=token, step=step, actor=actor, detail=_stop_detail(step, change_request))
            return "stopped"
        if status not in (CRStatus.PENDING, CRStatus.FAILED, CRStatus.APPLYING):
            detail = STOP_CLOSED.format(
                position=step.position, sandbox=step.sandbox, pk=change_request.pk, status=status
            )
            _stop(current, token=token, step=step, actor=actor, detail=detail)
            return "stopped"
        needed = policy.step_requirement(step)
        if not policy.step_enough(policy.approvals(current), needed):
            if needed.freeze is not None:
                freeze = policy.frozen_message(needed.freeze, sandbox=step.sandbox)
                detail = STOP_FROZEN.format(position=step.position, sandbox=step.sandbox, freeze=freeze)
                _stop(current, token=token, step=step, actor=actor, detail=detail)
                return "stopped"
            if held(current, token).update(status=Status.PENDING, run_token=""):
                notifications.notify_waiting(current, step=step, needed=needed.count)
            return "waiting"
        result = _apply_step(current, step=step, change_request=change_request, actor=actor, token=token)
        if result is None:
            return "stopped"
        if result.status != CRStatus.APPLIED:
            _step_failed(current, token=token, step=step, change_request=result, actor=actor)
            return "stopped"
        audit(
            current,
            action="rollout.step_applied",
            actor=actor,
            step=step,
            detail=f"Step {step.position} ({step.sandbox}) applied: change request #{result.pk}.",
        )
    with transaction.atomic():
        if not held(current, token).update(status=Status.COMPLETED, completed_at=timezone.now(), run_token=""):
            return "lost"
        audit(current, action="rollout.completed", actor=actor, detail="Completed: every sandbox carries the change.")
    return "completed"


def _apply_step(rollout: Rollout, *, step: RolloutStep, change_request: ChangeRequest, actor, token: str):
    """The step's change request through the change-request machinery; None when it could not even start."""
    try:
        if change_request.status == CRStatus.PENDING:
            return changes.change_request_approve(
                change_request=change_request, reviewer=actor, digest=change_request.digest, rollout=rollout
            )
        return changes.change_request_retry(change_request=change_request, reviewer=actor, rollout=rollout)
    except changes.ChangeRequestError as error:
        detail = STOP_REFUSED.format(position=step.position, sandbox=step.sandbox, error=error.message)
        audit(rollout, action="rollout.step_failed", actor=actor, step=step, outcome="failure", detail=detail)
        _stop(rollout, token=token, step=step, actor=actor, detail=detail)
        return None


def _error_text(change_request: ChangeRequest) -> str:
    text = change_request.error_title or "error"
    if change_request.error_detail:
        text += f": {change_request.error_detail}"
    if change_request.error_status:
        text += f" (HTTP {change_request.error_status})"
    if change_request.error_request_id:
        text += f" (request id {change_request.error_request_id})"
    return text


def _stop_detail(step: RolloutStep, change_request: ChangeRequest) -> str:
    if change_request.status == CRStatus.STALE:
        return STOP_STALE.format(position=step.position, sandbox=step.sandbox)
    if change_request.status == CRStatus.APPLYING:
        return STOP_UNKNOWN.format(
            position=step.position, sandbox=step.sandbox, seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS
        )
    return STOP_FAILED.format(position=step.position, sandbox=step.sandbox, error=_error_text(change_request))


def _step_failed(rollout: Rollout, *, token: str, step: RolloutStep, change_request: ChangeRequest, actor) -> None:
    detail = _stop_detail(step, change_request)
    outcome = "unknown" if change_request.status == CRStatus.APPLYING else "failure"
    audit(rollout, action="rollout.step_failed", actor=actor, step=step, outcome=outcome, detail=detail)
    _stop(rollout, token=token, step=step, actor=actor, detail=detail)


def _stop(rollout: Rollout, *, token: str, step: RolloutStep, actor, detail: str) -> None:
    with transaction.atomic():
        stopped = held(rollout, token).update(
            status=Status.STOPPED,
            stopped_at=timezone.now(),
            stopped_position=step.position,
            stop_detail=detail,
            run_token="",
        )
        if stopped:
            audit(rollout, action="rollout.stopped", actor=actor, step=step, outcome="failure", detail=detail)
    if stopped:
        notifications.notify_stopped(fresh(rollout))


def next_step_allowed(rollout: Rollout) -> bool:
    step = selectors.rollout_next_step(steps=selectors.rollout_steps(rollout=rollout))
    if step is None:
        return True
    return policy.step_enough(policy.approvals(rollout), policy.step_requirement(step))
