"""Rollout runs in the background: approving or resuming a rollout claims it and hands the run to a worker.

The claim (the rollout's ``run_token``, set by the conditional UPDATE that made it ``applying``)
travels with the task, and every write of the run is conditional on it, as when the run went on
inside the request: a run is done once even when its task is delivered twice. A worker killed
mid-step leaves the task to be delivered again after FLOWADMIN_TASK_RETRY seconds; the run then
carries on with the same token: applied steps are skipped, a step left ``applying`` (its PUT's
answer lost) is settled by reading the flow spec back before anything is sent again (and may
already have been settled by the scheduled `reconcile_changes`). Meanwhile the page says the
rollout is being applied in the background and follows it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import OperationalError

from flowadmin.audit.correlation import correlation, correlation_id_current
from flowadmin.rollouts.models import Rollout
from flowadmin.rollouts.running import run_claimed
from flowadmin.tasks.queue import enqueue, retrying


def rollout_run_enqueue(*, rollout: Rollout, actor, token: str) -> Rollout:
    """Hand the claimed run (``token``) of ``rollout`` to a worker; the rollout as it is now."""
    enqueue(
        "flowadmin.rollouts.tasks.rollout_run",
        rollout.pk,
        getattr(actor, "pk", None),
        token,
        correlation_id=correlation_id_current(),
        name=f"rollout #{rollout.pk}",
    )
    return Rollout.objects.select_related("author").get(pk=rollout.pk)


@retrying(on=(OperationalError,), attempts=5)
def rollout_run(rollout_pk: int, actor_pk: int | None, token: str, correlation_id: str | None = None) -> str:
    """Apply the steps of a rollout whose run ``token`` claimed; nothing when the claim is no longer held."""
    rollout = Rollout.objects.filter(pk=rollout_pk, status=Rollout.Status.APPLYING, run_token=token).first()
    if rollout is None:
        return f"Rollout #{rollout_pk}: this run's claim is no longer held (finished, or taken over): nothing to do."
    actor = get_user_model().objects.filter(pk=actor_pk).first() if actor_pk is not None else None
    with correlation(correlation_id):
        after = run_claimed(rollout=rollout, actor=actor, token=token)
    return f"Rollout #{rollout_pk}: {after.status}."
