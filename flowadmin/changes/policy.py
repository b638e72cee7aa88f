"""Who may do what to a change request, and how many approvals it needs: the one rule book.

Views and templates ask the ``can_*`` functions (a `Decision`: allowed, or the sentence saying why
not) to show or hide a button; services call the ``check_*`` functions, which record a refused
attempt in the audit log and raise `ChangeRequestForbidden`. The state of a request (pending,
applied, ...) is checked by the services themselves, atomically, with conditional updates; the
``can_*`` functions look at it too, so a page never offers what the service would refuse.

The rules:

* four eyes: the author never approves, rejects, retries or applies their own request. The author
  is a user *id*: a renamed or re-created account with the author's username is not the author,
  and a request whose author was deleted may be decided by any other approver;
* a request needs the approvals its sandbox's tier requires (`flowadmin.policy.rules`), from
  distinct approvers, none the author; the last one needed applies it. An approval is bound to
  the request's digest; editing, withdrawing or rebasing the request dismisses its approvals;
* a production sandbox's approvals carry a comment;
* while a freeze covers the sandbox, only emergency approvals (with a reason) are accepted, and
  the change needs one more approval than its tier requires;
* a removal that enabled dataflows depend on (as read when it was proposed) needs one more;
* a request that is a step of a rollout is decided only through that rollout.
"""

from __future__ import annotations

from django.utils import timezone

from flowadmin.accounts.roles import APPROVE_CHANGE, PROPOSE_CHANGE
from flowadmin.audit.services import audit_record
from flowadmin.changes import owners
from flowadmin.changes.errors import ChangeRequestConflict, ChangeRequestForbidden
from flowadmin.changes.models import Approval, ChangeRequest
from flowadmin.policy.rules import ALLOWED, Decision, Requirement, approvals_required, frozen_message, refused

Status = ChangeRequest.Status

# --- messages (the pages and the services say the same) ------------------------------------------
NOT_PROPOSER = "Proposing changes needs the Onboarding staff role."
NOT_APPROVER = "Approving, rejecting and retrying change requests needs the Approvers role."
FOUR_EYES = "You cannot decide your own change request: another approver must review it (four-eyes rule)."
NOT_AUTHOR = "Only the author of a change request can withdraw or edit it."
NOT_REBASER = "Only the author of a change request, or onboarding staff, can rebase it."
ALREADY_APPROVED = "You approved this change request already: the next approval must come from another approver."
ROLLOUT_STEP = (
    "Change request #{pk} is a step of rollout #{rollout}: it is approved, applied, rejected and withdrawn "
    "there, together with the rollout's other sandboxes."
)
NOT_ROLLOUT_STEP = "Change request #{pk} is not a step of rollout #{rollout}."
COMMENT_REQUIRED = "Approving a change to a production sandbox needs a comment: say what you checked."
EMERGENCY_NEEDS_REASON = "An emergency approval needs a reason: say why it cannot wait for the freeze to end."
NOT_ENOUGH_APPROVALS = (
    "Change request #{pk} has {count} of the {needed} approvals it needs ({why}): another approver must "
    "approve it before it is applied."
)
NOT_PENDING = "Change request #{pk} is {status}: only a pending request can be approved."
NOT_DECIDABLE = "Change request #{pk} is {status}: it can no longer be rejected or withdrawn."
NOT_RETRYABLE = "Change request #{pk} is {status}: only a failed request, or one whose outcome is unknown, is retried."
NOT_STALE = "Change request #{pk} is {status}: only a stale request that was not rebased yet can be rebased."
NOT_EDITABLE = "Change request #{pk} is {status}: only a pending request can be edited."
NOT_APPLIED = "Change request #{pk} is {status}: only an applied change can be reverted."
NOT_CLOSED = "Change request #{pk} is {status}: only a rejected or withdrawn request is revised and resubmitted."
NO_CLEAN_REBASE = "The current remote document does not take this change cleanly: there is nothing to approve rebased."


# --- facts ---------------------------------------------------------------------------------------
def is_author(user, change_request: ChangeRequest) -> bool:
    """Whether ``user`` is the request's author: by account id only (a deleted author is nobody)."""
    return (
        getattr(user, "is_authenticated", False)
        and change_request.author_id is not None
        and user.pk == change_request.author_id
    )


def owner_rollout_id(change_request: ChangeRequest) -> int | None:
    """The rollout whose step the request is, or None (as the rollouts app registers it in `owners`)."""
    return owners.rollout_of(change_request)


def approvals(change_request: ChangeRequest) -> list[Approval]:
    """The approvals that count: given to the request as it is (its digest) and not dismissed, oldest first."""
    return list(
        Approval.objects.filter(
            change_request_id=change_request.pk, digest=change_request.digest, dismissed_at__isnull=True
        ).order_by("created_at", "id")
    )


IMPACT_EXTRA = "because {count} enabled dataflow{plural} use{verb} a removed id"


def requirement(change_request: ChangeRequest) -> Requirement:
    """The approvals the request needs now (its sandbox's tier, a freeze, enabled dataflows that depend
    on the removal: one more)."""
    enabled = change_request.impact_enabled or 0
    if not enabled:
        return approvals_required(change_request.sandbox)
    plural, verb = ("s", "") if enabled != 1 else ("", "s")
    reason = IMPACT_EXTRA.format(count=enabled, plural=plural, verb=verb)
    return approvals_required(change_request.sandbox, extra=1, extra_reason=reason)


def requirement_for(*, sandbox: str) -> Requirement:
    """The approvals a new change to ``sandbox`` would need now (what the edit page says)."""
    return approvals_required(sandbox)


def enough(given: list[Approval], needed: Requirement) -> bool:
    """Whether ``given`` approvals let the change be applied now (see the module docstring)."""
    if len(given) < needed.count:
        return False
    if needed.freeze is None:
        return True
    return any(approval.emergency and approval.created_at >= needed.freeze.starts_at for approval in given)


def comment_required(needed: Requirement) -> bool:
    return needed.tier == "production"


def _approver_decision(user, change_request: ChangeRequest) -> Decision:
    if is_author(user, change_request):
        return refused(FOUR_EYES)
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_CHANGE):
        return refused(NOT_APPROVER)
    rollout = owner_rollout_id(change_request)
    if rollout is not None:
        return refused(ROLLOUT_STEP.format(pk=change_request.pk, rollout=rollout))
    return ALLOWED


def _state(template: str, change_request: ChangeRequest) -> Decision:
    return refused(template.format(pk=change_request.pk, status=change_request.status))


# --- for views and templates ---------------------------------------------------------------------
def can_propose(user) -> Decision:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(PROPOSE_CHANGE):
        return refused(NOT_PROPOSER)
    return ALLOWED


def can_approve(user, change_request: ChangeRequest, *, given: list[Approval] | None = None) -> Decision:
    """Approve (pending; or failed while it lacks approvals, e.g. its sandbox became production)."""
    decision = _approver_decision(user, change_request)
    if not decision:
        return decision
    given = approvals(change_request) if given is None else given
    if any(approval.approver_id == user.pk for approval in given):
        return refused(ALREADY_APPROVED)
    if change_request.status == Status.PENDING:
        return ALLOWED
    if change_request.status == Status.FAILED and not enough(given, requirement(change_request)):
        return ALLOWED
    return _state(NOT_PENDING, change_request)


def can_approve_rebased(user, change_request: ChangeRequest, *, clean: bool) -> Decision:
    """Approve the change rebased onto the current remote document (``clean``: the check found it takes it)."""
    decision = _approver_decision(user, change_request)
    if not decision:
        return decision
    if not (change_request.status == Status.PENDING or change_request.is_decidable):
        return _state(NOT_PENDING, change_request)
    return ALLOWED if clean else refused(NO_CLEAN_REBASE)


def can_reject(user, change_request: ChangeRequest) -> Decision:
    decision = _approver_decision(user, change_request)
    if decision and not change_request.is_decidable:
        return _state(NOT_DECIDABLE, change_request)
    return decision


def can_retry(user, change_request: ChangeRequest, *, given: list[Approval] | None = None) -> Decision:
    decision = _approver_decision(user, change_request)
    if not decision:
        return decision
    if change_request.outcome_unknown:
        return ALLOWED
    if change_request.status != Status.FAILED:
        return _state(NOT_RETRYABLE, change_request)
    given = approvals(change_request) if given is None else given
    needed = requirement(change_request)
    if not enough(given, needed):
        if needed.freeze is not None:
            return refused(frozen_message(needed.freeze, sandbox=change_request.sandbox))
        return refused(
            NOT_ENOUGH_APPROVALS.format(pk=change_request.pk, count=len(given), needed=needed.count, why=needed.why)
        )
    return ALLOWED


def can_withdraw(user, change_request: ChangeRequest) -> Decision:
    if not is_author(user, change_request):
        return refused(NOT_AUTHOR)
    rollout = owner_rollout_id(change_request)
    if rollout is not None:
        return refused(ROLLOUT_STEP.format(pk=change_request.pk, rollout=rollout))
    if not change_request.is_decidable:
        return _state(NOT_DECIDABLE, change_request)
    return ALLOWED


def can_edit(user, change_request: ChangeRequest) -> Decision:
    if not is_author(user, change_request):
        return refused(NOT_AUTHOR)
    if not user.has_perm(PROPOSE_CHANGE):
        return refused(NOT_PROPOSER)
    rollout = owner_rollout_id(change_request)
    if rollout is not None:
        return refused(ROLLOUT_STEP.format(pk=change_request.pk, rollout=rollout))
    if change_request.status != Status.PENDING:
        return _state(NOT_EDITABLE, change_request)
    return ALLOWED


def can_rebase(user, change_request: ChangeRequest) -> Decision:
    if not getattr(user, "is_authenticated", False) or not (
        is_author(user, change_request) or user.has_perm(PROPOSE_CHANGE)
    ):
        return refused(NOT_REBASER)
    rollout = owner_rollout_id(change_request)
    if rollout is not None:
        return refused(ROLLOUT_STEP.format(pk=change_request.pk, rollout=rollout))
    if change_request.status != Status.STALE or change_request.superseded_at is not None:
        return _state(NOT_STALE, change_request)
    return ALLOWED


def can_revert(user, change_request: ChangeRequest) -> Decision:
    decision = can_propose(user)
    if decision and change_request.status != Status.APPLIED:
        return _state(NOT_APPLIED, change_request)
    return decision


def can_revise(user, change_request: ChangeRequest) -> Decision:
    decision = can_propose(user)
    if decision and change_request.status not in (Status.REJECTED, Status.WITHDRAWN):
        return _state(NOT_CLOSED, change_request)
    return decision


def decisions(user, change_request: ChangeRequest, *, given: list[Approval] | None = None) -> dict[str, Decision]:
    """Every action's decision for ``user`` on the request (what its page shows)."""
    given = approvals(change_request) if given is None else given
    return {
        "approve": can_approve(user, change_request, given=given),
        "reject": can_reject(user, change_request),
        "retry": can_retry(user, change_request, given=given),
        "withdraw": can_withdraw(user, change_request),
        "edit": can_edit(user, change_request),
        "rebase": can_rebase(user, change_request),
        "revert": can_revert(user, change_request),
        "revise": can_revise(user, change_request),
    }


# --- for services: refuse, audited ---------------------------------------------------------------
def refuse(change_request: ChangeRequest, *, action: str, actor, message: str) -> ChangeRequestForbidden:
    """Record a refused attempt as a failure event and return the error to raise."""
    audit_record(
        action=action,
        actor=actor,
        outcome="failure",
        sandbox=change_request.sandbox,
        spec_id=change_request.spec_id,
        change_request_id=change_request.pk,
        detail=f"Refused: {message}",
    )
    return ChangeRequestForbidden(message, change_request=change_request)


def check_proposer(user) -> None:
    decision = can_propose(user)
    if not decision:
        raise ChangeRequestForbidden(decision.reason)


def check_approver(user, change_request: ChangeRequest, *, action: str, rollout=None) -> None:
    """Approver role and four eyes; a rollout's step only through that rollout (``rollout``)."""
    if is_author(user, change_request):
        raise refuse(change_request, action=action, actor=user, message=FOUR_EYES)
    if not getattr(user, "is_authenticated", False) or not user.has_perm(APPROVE_CHANGE):
        raise refuse(change_request, action=action, actor=user, message=NOT_APPROVER)
    check_owner(user, change_request, action=action, rollout=rollout)


def check_owner(user, change_request: ChangeRequest, *, action: str, rollout=None) -> None:
    """A rollout's step is decided by its rollout only; a rollout acts only on its own steps."""
    owner = owner_rollout_id(change_request)
    given = getattr(rollout, "pk", None)
    if owner == given:
        return
    if owner is not None:
        message = ROLLOUT_STEP.format(pk=change_request.pk, rollout=owner)
    else:
        message = NOT_ROLLOUT_STEP.format(pk=change_request.pk, rollout=given)
    raise refuse(change_request, action=action, actor=user, message=message)


def check_editor(user, change_request: ChangeRequest) -> None:
    """The author, still onboarding staff, edits a request that is no rollout's step."""
    check_author(user, change_request, action="change.edited")
    if not user.has_perm(PROPOSE_CHANGE):
        raise refuse(change_request, action="change.edited", actor=user, message=NOT_PROPOSER)


def check_author(user, change_request: ChangeRequest, *, action: str, rollout=None) -> None:
    if not is_author(user, change_request):
        raise refuse(change_request, action=action, actor=user, message=NOT_AUTHOR)
    check_owner(user, change_request, action=action, rollout=rollout)


def check_rebaser(user, change_request: ChangeRequest, *, action: str, rollout=None) -> None:
    if not getattr(user, "is_authenticated", False) or not (
        is_author(user, change_request) or user.has_perm(PROPOSE_CHANGE)
    ):
        raise refuse(change_request, action=action, actor=user, message=NOT_REBASER)
    check_owner(user, change_request, action=action, rollout=rollout)


def check_approval(
    user, change_request: ChangeRequest, *, needed: Requirement, given: list[Approval], comment: str, emergency: bool
) -> None:
    """What an approval must carry, given the approvals so far: audited refusals, or conflicts."""
    action = "change.approved"
    if any(approval.approver_id == user.pk for approval in given):
        raise refuse(change_request, action=action, actor=user, message=ALREADY_APPROVED)
    if needed.freeze is not None and not emergency:
        message = frozen_message(needed.freeze, sandbox=change_request.sandbox)
        refuse(change_request, action=action, actor=user, message=message)
        raise ChangeRequestConflict(message, change_request=change_request)
    if emergency and not comment:
        raise ChangeRequestConflict(EMERGENCY_NEEDS_REASON, change_request=change_request)
    if comment_required(needed) and not comment:
        raise ChangeRequestConflict(COMMENT_REQUIRED, change_request=change_request)


def check_enough(user, change_request: ChangeRequest, *, action: str) -> None:
    """Before an apply that no approval triggers (a retry): the approvals its sandbox needs now."""
    needed = requirement(change_request)
    given = approvals(change_request)
    if enough(given, needed):
        return
    if needed.freeze is not None:
        message = frozen_message(needed.freeze, sandbox=change_request.sandbox)
    else:
        message = NOT_ENOUGH_APPROVALS.format(
            pk=change_request.pk, count=len(given), needed=needed.count, why=needed.why
        )
    refuse(change_request, action=action, actor=user, message=message)
    raise ChangeRequestConflict(message, change_request=change_request)


def dismiss_approvals(change_request: ChangeRequest, *, why: str) -> int:
    """Dismiss the request's approvals that still count (edited, withdrawn, rebased); how many."""
    return Approval.objects.filter(change_request_id=change_request.pk, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now(), dismissed_why=why
    )
