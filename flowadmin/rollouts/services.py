"""Writes of rollouts: propose, approve, apply sandbox by sandbox, resume, rebase a stale step, reject, withdraw.

How a rollout keeps the guarantees of a single change request:

* every step *is* a change request (created ``pending`` for all sandboxes at proposal), applied by
  `flowadmin.changes.services.change_request_approve` (first attempt) or `change_request_retry`
  (after a failure: re-read, stale check, PUT; an outcome left unknown is reconciled first) with
  ``rollout=`` — the same code path, so the same stale check, exactly-once PUT, verification, cache
  update (origin flowadmin) and audit events with their HTTP details;
* a run *claims* the rollout with a conditional UPDATE (``pending``/``stopped`` -> ``applying`` with a
  fresh token) and every later write of the run is conditional on that token: of two approvers or
  resumers clicking at once exactly one runs; no transaction is open across an HTTP call (the change
  request functions commit ``applying`` before their PUT);
* steps run in order and the run stops at the first step that does not end ``applied`` (failed,
  stale, outcome unknown): ``stopped``, with the step and the reason. Resume claims it again and
  carries on from that step; applied steps are skipped, so no sandbox gets a second PUT;
* approvals are bound to the rollout's digest (every step's sandbox, base hash, ids, and their
  order); a step does not start before the approvals its sandbox's tier requires (the rule book,
  `flowadmin.rollouts.policy`: distinct approvers, never the author, superusers included);
* a run that reaches a step without enough approvals gives the rollout back (``pending``) and then
  looks again, so an approval that landed meanwhile is never lost; a step a freeze holds stops the
  rollout (resumed after the freeze, or after emergency approvals);
* every action writes its ``rollout.*`` audit event (detail ``"Rollout #<pk>: ..."``); refusals are
  recorded as failure events.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.changes import services as changes
from flowadmin.changes.common import change_names, describe
from flowadmin.changes.ids import normalise
from flowadmin.changes.impact import impact_check
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import notifications, policy, selectors, tasks
from flowadmin.rollouts.errors import RolloutConflict, RolloutError, RolloutForbidden, RolloutProposalError
from flowadmin.rollouts.models import Rollout, RolloutApproval, RolloutStep, rollout_digest
from flowadmin.rollouts.plan import rollout_plan

logger = logging.getLogger("flowadmin.rollouts")
Status = Rollout.Status
CRStatus = ChangeRequest.Status

# --- messages (tests import these) -------------------------------------------------------------
NOT_PROPOSER = policy.NOT_PROPOSER
NOT_APPROVER = policy.NOT_APPROVER
AUTHOR_CANNOT_APPROVE = policy.AUTHOR_CANNOT_APPROVE
ALREADY_APPROVED = policy.ALREADY_APPROVED
DIGEST_MISMATCH = (
    "This approval does not match the rollout (its sandboxes, order, bases or ids differ from what was reviewed): "
    "nothing was done. Reload the page and review it again."
)
NOT_OPEN = "Rollout #{pk} is {status}: nothing was done."
NOT_RESUMABLE = "Rollout #{pk} is {status}: only a stopped rollout can be resumed."
STILL_RUNNING = "Rollout #{pk} is being applied right now: wait for it to finish, then look again."
NEEDS_REBASE = (
    "Step {position} ({sandbox}) went stale: its remote document changed since the rollout was proposed. "
    "Rebase the step first; the approvers then review the rollout again."
)
NOT_AUTHOR = policy.NOT_AUTHOR
NOT_REBASER = policy.NOT_REBASER
NOT_REBASABLE = "Step {position} of rollout #{pk} is not a stale step of a stopped rollout: there is nothing to rebase."
COMMENT_REQUIRED = "Rejecting needs a comment that tells the author why."
REASON_REQUIRED = "Say why this rollout is needed."
NO_SANDBOX = "Pick at least one sandbox to roll out to."
NO_IDS = "Give at least one connection spec id to add or remove."
BAD_ID = "“{text}” is not a connection spec id (a UUID)."
ADDED_AND_REMOVED = "{id} is both added and removed."
DUPLICATE_SANDBOX = "Sandbox “{sandbox}” is listed twice."
NOT_CACHED = "Flow spec {spec_id} is not cached in sandbox “{sandbox}” (or that sandbox is not active)."
INVALID_PLAN = "The rollout cannot be proposed as it is: see the problems of each sandbox."
STEP_PROPOSAL_FAILED = "Sandbox “{sandbox}”: {message}"
RACE_LOST = "A change request was opened for one of these flow specs meanwhile: look at the preview again."

# What a run says when it stops (the rollout's stop_detail and the rollout.stopped event).
STOP_FAILED = "Step {position} ({sandbox}) failed: {error}. Fix the cause, then an approver resumes the rollout."
STOP_STALE = (
    "Step {position} ({sandbox}) went stale: its remote document changed since the rollout was proposed, "
    "so nothing was sent. Rebase the step; the approvers then review the rollout again."
)
STOP_UNKNOWN = (
    "Step {position} ({sandbox}): the PUT got no answer. Resume settles it by reading the flow spec back "
    "(once {seconds} s have passed) and carries on."
)
STOP_REFUSED = "Step {position} ({sandbox}) could not start: {error}"
STOP_CLOSED = "Step {position} ({sandbox}): its change request #{pk} is {status}."
STOP_FROZEN = (
    "Step {position} ({sandbox}) waits for the freeze: {freeze} Resume it once the freeze has ended, or after "
    "emergency approvals."
)


# --- helpers -------------------------------------------------------------------------------------
def _username(user) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def _fresh(rollout: Rollout) -> Rollout:
    return Rollout.objects.select_related("author").get(pk=rollout.pk)


def _audit(rollout: Rollout, *, action: str, actor=None, step: RolloutStep | None = None, detail: str, **fields):
    audit_record(
        action=action,
        actor=actor,
        sandbox=step.sandbox if step is not None else "",
        spec_id=rollout.spec_id,
        change_request_id=step.change_request_id if step is not None else None,
        detail=selectors.AUDIT_PREFIX.format(pk=rollout.pk) + detail,
        **fields,
    )


def _conflict(rollout: Rollout, template: str = NOT_OPEN) -> RolloutConflict:
    status = Rollout.objects.filter(pk=rollout.pk).values_list("status", flat=True).first() or "gone"
    return RolloutConflict(template.format(pk=rollout.pk, status=status), rollout=rollout)


def _describe(added: Sequence[str], removed: Sequence[str]) -> str:
    return describe(added, removed, change_names(added, removed))


def _grace() -> timedelta:
    return timedelta(seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS)


def _normalised(ids: Sequence[str], problems: list[str]) -> list[str]:
    result: list[str] = []
    for text in ids:
        spec_id = normalise(text or "")
        if not spec_id:
            problems.append(BAD_ID.format(text=(text or "").strip()[:60]))
        elif spec_id not in result:
            result.append(spec_id)
    return result


# --- propose -------------------------------------------------------------------------------------
def _impacts_acknowledged(plans) -> dict[int, int]:
    """Per step that removes ids: how many dependent dataflows its author checked (read before the
    transaction; each step's proposal reuses that reading)."""
    counts = {}
    for plan in plans:
        if not plan.removed:
            continue
        impact = impact_check(sandbox=plan.sandbox.name, spec_id=plan.spec.spec_id, removed=list(plan.removed))
        if impact is not None and impact.ok:
            counts[plan.position] = len(impact.dataflows)
    return counts


def rollout_propose(
    *,
    spec_id: str,
    sandboxes: Sequence[str],
    added: Sequence[str],
    removed: Sequence[str],
    reason: str,
    author,
    source_change_request_id: int | None = None,
    acknowledge_impact: bool = False,
) -> Rollout:
    """Propose rolling the same id change out to ``spec_id`` in ``sandboxes``, in that order.

    Creates the rollout and, per sandbox, its step: a pending change request on that sandbox's cached
    document (all or nothing: a sandbox whose change request cannot be made refuses the whole
    proposal). Raises `RolloutProposalError` (``problems`` per sandbox) or `RolloutForbidden`.
    ``acknowledge_impact``: the author checked the dataflows each sandbox's removal affects (as the
    preview showed them); a step whose removal enabled dataflows use is refused without it.
    """
    policy.check_proposer(author)
    reason = (reason or "").strip()
    if not reason:
        raise RolloutProposalError(REASON_REQUIRED)
    problems: list[str] = []
    added_ids = _normalised(added, problems)
    removed_ids = _normalised(removed, problems)
    problems += [ADDED_AND_REMOVED.format(id=spec_id) for spec_id in added_ids if spec_id in removed_ids]
    if problems:
        raise RolloutProposalError(problems[0], problems=problems)
    if not added_ids and not removed_ids:
        raise RolloutProposalError(NO_IDS)
    names = [name.strip() for name in sandboxes if name and name.strip()]
    if not names:
        raise RolloutProposalError(NO_SANDBOX)
    candidates = {spec.sandbox.name: spec for spec in selectors.rollout_candidates(spec_id=spec_id)}
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(DUPLICATE_SANDBOX.format(sandbox=name))
        elif name not in candidates:
            problems.append(NOT_CACHED.format(spec_id=spec_id, sandbox=name))
        seen.add(name)
    if problems:
        raise RolloutProposalError(problems[0], problems=problems)
    specs = [candidates[name] for name in names]
    spec_id = specs[0].spec_id
    if not ChangeRequest.objects.filter(pk=source_change_request_id or 0, spec_id=spec_id).exists():
        source_change_request_id = None
    plans = rollout_plan(specs=specs, added=added_ids, removed=removed_ids)
    problems = [problem for plan in plans for problem in plan.problems]
    if problems:
        raise RolloutProposalError(INVALID_PLAN, problems=problems)
    acknowledged = _impacts_acknowledged(plans) if acknowledge_impact else {}
    try:
        with transaction.atomic():
            rollout = Rollout.objects.create(
                spec_id=spec_id,
                spec_name=specs[0].name,
                added_ids=added_ids,
                removed_ids=removed_ids,
                reason=reason,
                author=author,
                author_username=_username(author),
                source_change_request_id=source_change_request_id,
                digest="0" * 64,
                prod_approvals_required=settings.FLOWADMIN_APPROVALS_PRODUCTION,
            )
            steps = []
            for plan in plans:
                try:
                    change_request = changes.change_request_propose(
                        flow_spec=plan.spec,
                        source_ids=list(plan.ids),
                        reason=reason,
                        author=author,
                        notify=False,
                        acknowledged=acknowledged.get(plan.position),
                    )
                except changes.ChangeRequestError as error:
                    detail = " ".join([error.message, *error.problems])
                    message = STEP_PROPOSAL_FAILED.format(sandbox=plan.sandbox.name, message=detail)
                    raise RolloutProposalError(INVALID_PLAN, problems=[message]) from None
                steps.append(
                    RolloutStep.objects.create(
                        rollout=rollout,
                        position=plan.position,
                        sandbox=plan.sandbox.name,
                        is_production=plan.sandbox.is_production,
                        change_request=change_request,
                    )
                )
            rollout.digest = _digest(rollout, steps)
            rollout.save(update_fields=["digest"])
            order = ", ".join(f"{step.sandbox}{' (production)' if step.is_production else ''}" for step in steps)
            _audit(
                rollout,
                action="rollout.proposed",
                actor=author,
                detail=f"Proposed: {_describe(added_ids, removed_ids)} in {order}, in this order "
                f"(change requests {', '.join(f'#{step.change_request_id}' for step in steps)}). Reason: {reason}",
                search_also=[*added_ids, *removed_ids],
            )
            notifications.notify_proposed(rollout)
    except IntegrityError:
        # A single change request for one of the sandboxes won the race (the one-open-request index).
        raise RolloutProposalError(INVALID_PLAN, problems=[RACE_LOST]) from None
    return rollout


def _digest(rollout: Rollout, steps: Sequence[RolloutStep]) -> str:
    return rollout_digest(
        spec_id=rollout.spec_id,
        steps=[
            (
                step.sandbox,
                step.change_request.base_hash,
                step.change_request.added_ids,
                step.change_request.removed_ids,
            )
            for step in sorted(steps, key=lambda item: item.position)
        ],
    )


# --- approve -------------------------------------------------------------------------------------
def rollout_approve(*, rollout: Rollout, approver, digest: str, comment: str = "", emergency: bool = False) -> Rollout:
    """Record ``approver``'s approval of the rollout as reviewed (``digest``) and apply what it allows.

    Refused for the author (superusers too), for a second approval by the same approver, and for a
    digest that is not the rollout's. An approval that may start a production step carries a
    comment; an emergency one (during a freeze) a reason. A pending rollout whose next step now has
    enough approvals is applied at once (see the module docstring); returns the rollout as that left it.
    """
    policy.check_approver(approver, rollout, action="rollout.approved")
    current = _fresh(rollout)
    if digest != current.digest:
        raise policy.refuse(current, action="rollout.approved", actor=approver, message=DIGEST_MISMATCH)
    if current.status not in Rollout.OPEN_STATUSES:
        raise _conflict(current)
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
                raise _conflict(current)
            RolloutApproval.objects.create(
                rollout=current,
                approver=approver,
                approver_username=_username(approver),
                digest=digest,
                comment=comment,
                emergency=emergency,
            )
            count = len(given) + 1
            kind = "Emergency approval" if emergency else "Approved"
            said = f" {'Reason' if emergency else 'Comment'}: {comment}" if comment else ""
            _audit(
                current,
                action="rollout.approved",
                actor=approver,
                detail=f"{kind} ({count} approval{'s' if count != 1 else ''}; each sandbox needs what its tier "
                f"requires).{said}",
            )
    except IntegrityError:
        raise policy.refuse(current, action="rollout.approved", actor=approver, message=ALREADY_APPROVED) from None
    current = _fresh(current)
    if current.status == Status.PENDING and _next_step_allowed(current):
        token = _claim(current, from_statuses=(Status.PENDING,))
        if token is not None:
            return tasks.rollout_run_enqueue(rollout=current, actor=approver, token=token)  # a worker runs it
    return _fresh(current)


def _next_step_allowed(rollout: Rollout) -> bool:
    step = selectors.rollout_next_step(steps=selectors.rollout_steps(rollout=rollout))
    if step is None:
        return True
    return policy.step_enough(policy.approvals(rollout), policy.step_requirement(step))


# --- the run -------------------------------------------------------------------------------------
def _claim(rollout: Rollout, *, from_statuses: Sequence[str], abandoned_before=None) -> str | None:
    """Take the rollout for a run (conditional UPDATE); the token, or None when someone else has it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimable = Q(status__in=from_statuses)
    if abandoned_before is not None:
        claimable |= Q(status=Status.APPLYING, run_heartbeat_at__lt=abandoned_before)
    claimed = Rollout.objects.filter(claimable, pk=rollout.pk).update(
        status=Status.APPLYING, run_token=token, run_started_at=now, run_heartbeat_at=now
    )
    return token if claimed else None


def _held(rollout: Rollout, token: str):
    return Rollout.objects.filter(pk=rollout.pk, status=Status.APPLYING, run_token=token)


def _run(*, rollout: Rollout, actor, token: str) -> Rollout:
    """Apply the steps in order while the claim is ours; see the module docstring."""
    passes = len(selectors.rollout_steps(rollout=rollout)) + 1  # each pass applies a step or ends the run
    for _ in range(passes):
        if _run_steps(rollout=rollout, actor=actor, token=token) != "waiting":
            break
        # Given back for approvals: one may have landed meanwhile, whose approver saw the run going.
        current = _fresh(rollout)
        if current.status != Status.PENDING or not _next_step_allowed(current):
            break
        token = _claim(current, from_statuses=(Status.PENDING,))
        if token is None:
            break
    return _fresh(rollout)


def _run_steps(*, rollout: Rollout, actor, token: str) -> str:
    """One pass over the steps: ``completed``, ``stopped``, ``waiting`` (for approvals) or ``lost`` (claim gone)."""
    current = _fresh(rollout)
    for step in selectors.rollout_steps(rollout=current):
        if not _held(current, token).update(run_heartbeat_at=timezone.now()):
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
            if _held(current, token).update(status=Status.PENDING, run_token=""):
                notifications.notify_waiting(current, step=step, needed=needed.count)
            return "waiting"
        result = _apply_step(current, step=step, change_request=change_request, actor=actor, token=token)
        if result is None:
            return "stopped"
        if result.status != CRStatus.APPLIED:
            _step_failed(current, token=token, step=step, change_request=result, actor=actor)
            return "stopped"
        _audit(
            current,
            action="rollout.step_applied",
            actor=actor,
            step=step,
            detail=f"Step {step.position} ({step.sandbox}) applied: change request #{result.pk}.",
        )
    with transaction.atomic():
        if not _held(current, token).update(status=Status.COMPLETED, completed_at=timezone.now(), run_token=""):
            return "lost"
        _audit(current, action="rollout.completed", actor=actor, detail="Completed: every sandbox carries the change.")
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
        _audit(rollout, action="rollout.step_failed", actor=actor, step=step, outcome="failure", detail=detail)
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
    _audit(rollout, action="rollout.step_failed", actor=actor, step=step, outcome=outcome, detail=detail)
    _stop(rollout, token=token, step=step, actor=actor, detail=detail)


def _stop(rollout: Rollout, *, token: str, step: RolloutStep, actor, detail: str) -> None:
    with transaction.atomic():
        stopped = _held(rollout, token).update(
            status=Status.STOPPED,
            stopped_at=timezone.now(),
            stopped_position=step.position,
            stop_detail=detail,
            run_token="",
        )
        if stopped:
            _audit(rollout, action="rollout.stopped", actor=actor, step=step, outcome="failure", detail=detail)
    if stopped:
        notifications.notify_stopped(_fresh(rollout))


# --- resume --------------------------------------------------------------------------------------
def rollout_resume(*, rollout: Rollout, approver) -> Rollout:
    """An approver (never the author) carries a stopped rollout on from the step it stopped at.

    That step's change request goes through `change_request_retry` (an unknown outcome is settled by
    reading the flow spec back first; then the stale check and the PUT), then the run continues;
    applied steps are skipped. A rollout left ``applying`` by a run that gave no sign of life for
    ``FLOWADMIN_APPLY_GRACE_SECONDS`` is taken over. A stale step must be rebased first.
    """
    policy.check_approver(approver, rollout, action="rollout.resumed")
    current = _fresh(rollout)
    abandoned_before = timezone.now() - _grace()
    if current.status == Status.APPLYING:
        if current.run_heartbeat_at is not None and current.run_heartbeat_at >= abandoned_before:
            raise RolloutConflict(STILL_RUNNING.format(pk=current.pk), rollout=current)
    elif current.status != Status.STOPPED:
        raise _conflict(current, NOT_RESUMABLE)
    step = selectors.rollout_next_step(steps=selectors.rollout_steps(rollout=current))
    if step is not None and step.change_request.status == CRStatus.STALE:
        raise RolloutConflict(NEEDS_REBASE.format(position=step.position, sandbox=step.sandbox), rollout=current)
    if step is not None:
        needed = policy.step_requirement(step)
        if needed.freeze is not None and not policy.step_enough(policy.approvals(current), needed):
            message = policy.step_waiting(step, policy.approvals(current), needed)
            policy.refuse(current, action="rollout.resumed", actor=approver, message=message, step=step)
            raise RolloutConflict(message, rollout=current)
    token = _claim(current, from_statuses=(Status.STOPPED,), abandoned_before=abandoned_before)
    if token is None:
        raise _conflict(current, NOT_RESUMABLE)
    where = f" at step {step.position} ({step.sandbox})" if step is not None else ""
    _audit(current, action="rollout.resumed", actor=approver, step=step, detail=f"Resumed{where}.")
    return tasks.rollout_run_enqueue(rollout=current, actor=approver, token=token)  # a worker runs it


# --- rebase a stale step -------------------------------------------------------------------------
def rollout_step_rebase(*, rollout: Rollout, position: int, actor) -> Rollout:
    """Rebase a stopped rollout's stale step onto the remote document it met (`change_request_rebase`).

    The step gets the new pending change request, the rollout a new digest, so the approvals given
    so far stop counting: the rollout is ``pending`` again and is reviewed anew. Applied steps stay.
    """
    policy.check_rebaser(actor, rollout, action="rollout.step_rebased")
    current = _fresh(rollout)
    step = selectors.rollout_step_get(rollout=current, position=position)
    stale = step.change_request
    if current.status != Status.STOPPED or stale.status != CRStatus.STALE or stale.superseded_at is not None:
        raise RolloutConflict(NOT_REBASABLE.format(position=position, pk=current.pk), rollout=current)
    try:
        with transaction.atomic():
            rebased = changes.change_request_rebase(change_request=stale, actor=actor, rollout=current)
            step.change_request = rebased
            step.save(update_fields=["change_request"])
            digest = _digest(current, selectors.rollout_steps(rollout=current))
            reopened = Rollout.objects.filter(pk=current.pk, status=Status.STOPPED, digest=current.digest).update(
                status=Status.PENDING, digest=digest, stop_detail="", stopped_position=None
            )
            if not reopened:
                raise _conflict(current)
            _audit(
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
    return _fresh(current)


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
        fields={"reviewer": reviewer, "reviewer_username": _username(reviewer), "review_comment": comment},
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
    current = _fresh(rollout)
    try:
        with transaction.atomic():
            closed = Rollout.objects.filter(pk=current.pk, status__in=(Status.PENDING, Status.STOPPED)).update(
                status=status, decided_at=timezone.now(), **fields
            )
            if not closed:
                raise _conflict(current)
            for step in selectors.rollout_steps(rollout=current):
                if step.change_request.is_decidable:
                    close_step(step.change_request, current)
            _audit(current, action=f"rollout.{status}", actor=actor, detail=detail)
    except changes.ChangeRequestForbidden as error:
        raise RolloutForbidden(error.message, rollout=current) from None
    except changes.ChangeRequestConflict as error:
        raise RolloutConflict(error.message, rollout=current) from None
    return _fresh(current)
