"""What the rollout services share: the audit event, fresh reads, the run's claim, the digest.

Built on `flowadmin.changes.common` (names of users, how a change is described).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.changes.common import change_names, describe
from flowadmin.documents.ids import normalise
from flowadmin.rollouts import selectors
from flowadmin.rollouts.errors import RolloutConflict
from flowadmin.rollouts.messages import BAD_ID, NOT_OPEN
from flowadmin.rollouts.models import Rollout, RolloutStep, rollout_digest

Status = Rollout.Status


def fresh(rollout: Rollout) -> Rollout:
    return Rollout.objects.select_related("author").get(pk=rollout.pk)


def audit(rollout: Rollout, *, action: str, actor=None, step: RolloutStep | None = None, detail: str, **fields):
    audit_record(
        action=action,
        actor=actor,
        sandbox=step.sandbox if step is not None else "",
        spec_id=rollout.spec_id,
        change_request_id=step.change_request_id if step is not None else None,
        detail=selectors.AUDIT_PREFIX.format(pk=rollout.pk) + detail,
        **fields,
    )


def conflict(rollout: Rollout, template: str = NOT_OPEN) -> RolloutConflict:
    status = Rollout.objects.filter(pk=rollout.pk).values_list("status", flat=True).first() or "gone"
    return RolloutConflict(template.format(pk=rollout.pk, status=status), rollout=rollout)


def describe_change(added: Sequence[str], removed: Sequence[str]) -> str:
    return describe(added, removed, change_names(added, removed))


def grace() -> timedelta:
    return timedelta(seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS)


def normalised(ids: Sequence[str], problems: list[str]) -> list[str]:
    result: list[str] = []
    for text in ids:
        spec_id = normalise(text or "")
        if not spec_id:
            problems.append(BAD_ID.format(text=(text or "").strip()[:60]))
        elif spec_id not in result:
            result.append(spec_id)
    return result


def steps_digest(rollout: Rollout, steps: Sequence[RolloutStep]) -> str:
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


def claim(rollout: Rollout, *, from_statuses: Sequence[str], abandoned_before=None) -> str | None:
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


def held(rollout: Rollout, token: str):
    return Rollout.objects.filter(pk=rollout.pk, status=Status.APPLYING, run_token=token)
