"""Proposing a rollout: one pending change request per sandbox, in order, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction

from flowadmin.changes import services as changes
from flowadmin.changes.common import username
from flowadmin.changes.impact import impact_check
from flowadmin.changes.models import ChangeRequest
from flowadmin.rollouts import notifications, policy, selectors
from flowadmin.rollouts.common import audit, describe_change, normalised, steps_digest
from flowadmin.rollouts.errors import RolloutProposalError
from flowadmin.rollouts.messages import (
    ADDED_AND_REMOVED,
    DUPLICATE_SANDBOX,
    INVALID_PLAN,
    NO_IDS,
    NO_SANDBOX,
    NOT_CACHED,
    RACE_LOST,
    REASON_REQUIRED,
    STEP_PROPOSAL_FAILED,
)
from flowadmin.rollouts.models import Rollout, RolloutStep
from flowadmin.rollouts.plan import rollout_plan

Status = Rollout.Status


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
    added_ids = normalised(added, problems)
    removed_ids = normalised(removed, problems)
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
                author_username=username(author),
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
            rollout.digest = steps_digest(rollout, steps)
            rollout.save(update_fields=["digest"])
            order = ", ".join(f"{step.sandbox}{' (production)' if step.is_production else ''}" for step in steps)
            audit(
                rollout,
                action="rollout.proposed",
                actor=author,
                detail=f"Proposed: {describe_change(added_ids, removed_ids)} in {order}, in this order "
                f"(change requests {', '.join(f'#{step.change_request_id}' for step in steps)}). Reason: {reason}",
                search_also=[*added_ids, *removed_ids],
            )
            notifications.notify_proposed(rollout)
    except IntegrityError:
        # A single change request for one of the sandboxes won the race (the one-open-request index).
        raise RolloutProposalError(INVALID_PLAN, problems=[RACE_LOST]) from None
    return rollout
