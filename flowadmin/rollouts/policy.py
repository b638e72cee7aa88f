"""Who may do what to a rollout, and when each of its steps may start: the rollout's part of the rule book.

The same rules as a single change request (`flowadmin.changes.policy`), applied to every step:

* four eyes by account id: the author never approves, rejects or resumes (superusers neither); a
  rollout whose author was deleted may be decided by any approver;
* approvals are given to the rollout as reviewed (its digest: every step's sandbox, base, ids and
  order) by distinct approvers; a step starts only when they number what its sandbox's tier
  requires (`flowadmin.policy.rules.approvals_required`: production 2, others 1, one more during a
  freeze, which also needs an emergency approval with a reason given during it);
* an approval that may start a production step carries a comment;
* a stale step is rebased by the author, by onboarding staff or by an approver (the approvals then
  start again, so an approver is never stuck on a change that still applies).
"""

from __future__ import annotations

from collections.abc import Sequence

from flowadmin.accounts.roles import APPROVE_CHANGE, PROPOSE_CHANGE
from flowadmin.audit.services import audit_record
from flowadmin.changes import policy as changes_policy
from flowadmin.changes.models import ChangeRequest
from flowadmin.policy.rules import ALLOWED, Decision, Requirement, frozen_message, refused
from flowadmin.rollouts.errors import RolloutForbidden
from flowadmin.rollouts.models import Rollout, RolloutApproval, RolloutStep

AUDIT_PREFIX = "Rollout #{pk}: "  # how every rollout.* event's detail starts (services write it, the trail reads it)

NOT_PROPOSER = "Proposing rollouts needs the Onboarding staff role."
NOT_APPROVER = "Approving, rejecting and resuming rollouts needs the Approvers role."
AUTHOR_CANNOT_APPROVE = (
    "You proposed this rollout: other approvers must approve, reject and resume it (four-eyes rule; superusers too)."
)
ALREADY_APPROVED = "You approved this rollout already: the next approval must come from another approver."
NOT_AUTHOR = "Only the author of a rollout can withdraw it."
NOT_REBASER = "Only the author of a rollout, onboarding staff or an approver can rebase its steps."
COMMENT_REQUIRED = "An approval that may start a production sandbox needs a comment: say what you checked."
EMERGENCY_NEEDS_REASON = "An emergency approval needs a reason: say why it cannot wait for the freeze to end."
NOT_OPEN = "Rollout #{pk} is {status}: there is nothing to approve."
NOT_DECIDABLE = "Rollout #{pk} is {status}: it can no longer be rejected or withdrawn."
NOT_STOPPED = "Rollout #{pk} is {status}: only a stopped rollout is resumed."
ENOUGH_ALREADY = "Rollout #{pk} has every approval its steps need."
WAITING = "{sandbox} needs {needed} approval{plural} ({why}); the rollout has {count}."


def is_author(user, rollout: Rollout) -> bool:
    """Whether ``user`` proposed the rollout: by account id only (a deleted author is nobody)."""
    return getattr(user, "is_authenticated", False) and rollout.author_id is not None and user.pk == rollout.author_id


def approvals(rollout: Rollout) -> list[RolloutApproval]:
    """The approvals that count: given to the rollout as it is now (its digest), oldest first."""
    return list(RolloutApproval.objects.filter(rollout_id=rollout.pk, digest=rollout.digest).order_by("created_at"))


def step_requirement(step: RolloutStep) -> Requirement:
    """The approvals a step needs now: its sandbox's (tier, freeze), one more when enabled dataflows
    depend on what it removes (`flowadmin.changes.policy.requirement`, the same rule as a change request)."""
    if RolloutStep.change_request.is_cached(step):
        change_request = step.change_request
    else:
        change_request = ChangeRequest.objects.only("sandbox", "impact_enabled").get(pk=step.change_request_id)
    return changes_policy.requirement(change_request)


def step_enough(given: Sequence[RolloutApproval], needed: Requirement) -> bool:
    """Whether ``given`` lets a step with requirement ``needed`` start now."""
    if len(given) < needed.count:
        return False
    if needed.freeze is None:
        return True
    return any(approval.emergency and approval.created_at >= needed.freeze.starts_at for approval in given)


def step_waiting(step: RolloutStep, given: Sequence[RolloutApproval], needed: Requirement) -> str:
    """Why the step cannot start yet (a sentence), "" when it can."""
    if step_enough(given, needed):
        return ""
    if needed.freeze is not None and len(given) >= needed.count:
        return frozen_message(needed.freeze, sandbox=step.sandbox)
    plural = "s" if needed.count != 1 else ""
    return WAITING.format(sandbox=step.sandbox, needed=needed.count, plural=plural, why=needed.why, count=len(given))


def open_steps(steps: Sequence[RolloutStep]) -> list[RolloutStep]:
    return [step for step in steps if step.change_request.status != ChangeRequest.Status.APPLIED]


def comment_required(steps: Sequence[RolloutStep]) -> bool:
    """An approval may start a production step: it carries a comment (and is confirmed on the page)."""
    return any(step_requirement(step).tier == "production" for step in open_steps(steps))


def _approver(user, rollout: Rollout) -> Decision:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_CHANGE):
        return refused(NOT_APPROVER)
    if is_author(user, rollout):
        return refused(AUTHOR_CANNOT_APPROVE)
    return ALLOWED


def _state(template: str, rollout: Rollout) -> Decision:
    return refused(template.format(pk=rollout.pk, status=rollout.status))


# --- for views and templates ---------------------------------------------------------------------
def can_approve(user, rollout: Rollout, *, given: Sequence[RolloutApproval], steps: Sequence[RolloutStep]) -> Decision:
    decision = _approver(user, rollout)
    if not decision:
        return decision
    if not rollout.is_open:
        return _state(NOT_OPEN, rollout)
    if any(approval.approver_id == user.pk for approval in given):
        return refused(ALREADY_APPROVED)
    if all(step_enough(given, step_requirement(step)) for step in open_steps(steps)):
        return refused(ENOUGH_ALREADY.format(pk=rollout.pk))
    return ALLOWED


def can_resume(user, rollout: Rollout) -> Decision:
    decision = _approver(user, rollout)
    if decision and not (rollout.status == Rollout.Status.STOPPED or rollout.is_abandoned):
        return _state(NOT_STOPPED, rollout)
    return decision


def can_reject(user, rollout: Rollout) -> Decision:
    decision = _approver(user, rollout)
    if decision and not rollout.is_decidable:
        return _state(NOT_DECIDABLE, rollout)
    return decision


def can_withdraw(user, rollout: Rollout) -> Decision:
    if not is_author(user, rollout):
        return refused(NOT_AUTHOR)
    if not rollout.is_decidable:
        return _state(NOT_DECIDABLE, rollout)
    return ALLOWED


def can_rebase(user, rollout: Rollout) -> Decision:
    if not getattr(user, "is_authenticated", False) or not (
        is_author(user, rollout) or user.has_perm(PROPOSE_CHANGE) or user.has_perm(APPROVE_CHANGE)
    ):
        return refused(NOT_REBASER)
    if rollout.status != Rollout.Status.STOPPED:
        return _state(NOT_STOPPED, rollout)
    return ALLOWED


def decisions(user, rollout: Rollout, *, given, steps) -> dict[str, Decision]:
    return {
        "approve": can_approve(user, rollout, given=given, steps=steps),
        "resume": can_resume(user, rollout),
        "reject": can_reject(user, rollout),
        "withdraw": can_withdraw(user, rollout),
        "rebase": can_rebase(user, rollout),
    }


# --- for services: refuse, audited ---------------------------------------------------------------
def refuse(rollout: Rollout, *, action: str, actor, message: str, step: RolloutStep | None = None) -> RolloutForbidden:
    """Record a refused attempt as a failure event and return the error to raise."""
    audit_record(
        action=action,
        actor=actor,
        outcome="failure",
        sandbox=step.sandbox if step is not None else "",
        spec_id=rollout.spec_id,
        change_request_id=step.change_request_id if step is not None else None,
        detail=AUDIT_PREFIX.format(pk=rollout.pk) + f"Refused: {message}",
    )
    return RolloutForbidden(message, rollout=rollout)


def can_propose(user) -> Decision:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(PROPOSE_CHANGE):
        return refused(NOT_PROPOSER)
    return ALLOWED


def check_proposer(user) -> None:
    decision = can_propose(user)
    if not decision:
        raise RolloutForbidden(decision.reason)


def check_approver(user, rollout: Rollout, *, action: str) -> None:
    decision = _approver(user, rollout)
    if not decision:
        raise refuse(rollout, action=action, actor=user, message=decision.reason)


def check_author(user, rollout: Rollout, *, action: str) -> None:
    if not is_author(user, rollout):
        raise refuse(rollout, action=action, actor=user, message=NOT_AUTHOR)


def check_rebaser(user, rollout: Rollout, *, action: str) -> None:
    if not getattr(user, "is_authenticated", False) or not (
        is_author(user, rollout) or user.has_perm(PROPOSE_CHANGE) or user.has_perm(APPROVE_CHANGE)
    ):
        raise refuse(rollout, action=action, actor=user, message=NOT_REBASER)
