"""Sync runs: one click (or the schedule, or the command) starts a run, or finds the one already syncing.

A run claims the sandboxes it knows of up front with its own token, so a second click finds them
claimed and is given the same run; its per-sandbox rows follow the progress. A worker does the
run (`flowadmin.catalog.tasks.sync_run`); a worker killed midway leaves the task to be delivered
again, and the run then carries on with the sandboxes it had not finished (its token still holds
their leases), so nothing is lost and no sandbox is synced twice by one run.

Audit: besides the events of the sandboxes it changed or failed to sync (`flowadmin.catalog.sync`),
a run asked for by a person or the command records one summary event, `sandbox.synced` (or
`sandbox.sync_failed` when something failed) with no sandbox (its detail, ``Sync run #<pk> of ...``,
says which).
A scheduled run records one only when it failed as a whole (the sandboxes could not be listed).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.catalog.errors import DISCOVERY_FAILED, NOT_LISTED, UNEXPECTED_ERROR
from flowadmin.catalog.leases import RELEASED, sandboxes_claim
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.sync import STATE_ACTIVE, sandboxes_sync
from flowadmin.flowservice import FlowServiceError
from flowadmin.tasks.queue import enqueue

logger = logging.getLogger("flowadmin.catalog")
State = SyncRunSandbox.State


@dataclass(frozen=True)
class SyncRunStart:
    """The run that `sync_run_start` started, or (``created`` False) the one already syncing."""

    run: SyncRun
    created: bool


def _open_run_holding(names: list[str], *, other_than: SyncRun) -> SyncRun | None:
    """An active run that already syncs one of ``names`` (or, for no names, any active all-sandboxes run)."""
    if names:
        candidates = SyncRun.objects.filter(
            finished_at__isnull=True, pk__in=Sandbox.objects.filter(name__in=names).values("sync_run")
        )
    else:
        candidates = SyncRun.objects.filter(finished_at__isnull=True, scope="")
    candidates = candidates.exclude(pk=other_than.pk).order_by("-created_at")
    return next((run for run in candidates if run.is_active), None)


def sync_run_start(
    *,
    sandbox_name: str | None = None,
    actor=None,
    background: bool = True,
    scheduled: bool = False,
    correlation_id: str | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
) -> SyncRunStart:
    """Start syncing one sandbox (None: every sandbox), or find the run that already syncs it.

    The sandboxes already known are claimed here, with the new run's token, so that a second click
    finds them claimed and gets the same run back. ``background`` hands the run to a worker and
    returns at once (its rows show the progress); otherwise it runs here and returns when done.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    scope = (sandbox_name or "").strip().lower()
    targets = [scope] if scope else _known_targets()
    with transaction.atomic():
        run = SyncRun.objects.create(
            scope=scope,
            token=uuid.uuid4().hex,
            scheduled=scheduled,
            requested_by=user,
            requested_by_username=user.get_username() if user else "",
        )
        held = sandboxes_claim(names=targets, token=run.token, run=run)
        claimed = [name for name in targets if name in held]
        SyncRunSandbox.objects.bulk_create([SyncRunSandbox(run=run, sandbox_name=name) for name in claimed])
    if not claimed:
        existing = _open_run_holding(targets, other_than=run)
        if existing is not None:
            run.delete()
            return SyncRunStart(run=existing, created=False)
    if background:
        label = f"sync run {run.pk}: {scope or 'all sandboxes'}"
        enqueue("flowadmin.catalog.tasks.sync_run", run.pk, correlation_id=correlation_id, name=label)
    else:
        sync_run_execute(run=run, actor=user, on_result=on_result)
    run.refresh_from_db()
    return SyncRunStart(run=run, created=True)


def _known_targets() -> list[str]:
    """The sandboxes an all-sandboxes run will most likely sync, as far as the database knows."""
    known = Sandbox.objects.filter(state=STATE_ACTIVE)
    configured = [name.strip().lower() for name in settings.FLOWADMIN_SANDBOXES if name.strip()]
    if configured:
        known = known.filter(name__in=configured)
    return list(known.values_list("name", flat=True))


def sync_run_names_left(run: SyncRun) -> list[str] | None:
    """What the run has to sync: its scope, or after an interrupted attempt the sandboxes not finished."""
    items = SyncRunSandbox.objects.filter(run=run)
    if not items.filter(state__in=SyncRunSandbox.DONE_STATES).exists():
        return [run.scope] if run.scope else None
    return list(items.exclude(state__in=SyncRunSandbox.DONE_STATES).values_list("sandbox_name", flat=True))


def sync_run_execute(*, run: SyncRun, actor=None, on_result: Callable[[SyncResult], None] | None = None) -> None:
    """Do a run's work (what is left of it) here and mark it finished, whatever happens; its leases are released."""
    kwargs = {"actor": actor, "run": run, "on_result": on_result}
    sync_run_started(run)
    error = UNEXPECTED_ERROR
    try:
        names = sync_run_names_left(run)
        error = sync_run_attempt(run, lambda: names != [] and sandboxes_sync(names=names, **kwargs))
    finally:
        sync_run_finish(run, actor=actor, error=error)


def sync_run_attempt(run: SyncRun, work: Callable[[], object]) -> str:
    """Call ``work``; what failed, as the run's rows and error say it ("" when nothing did)."""
    try:
        work()
    except FlowServiceError as failure:
        return f"{DISCOVERY_FAILED}: {failure}"
    except Exception:
        logger.exception("sync run %s failed", run.pk)
        return UNEXPECTED_ERROR
    return ""


def sync_run_started(run: SyncRun) -> None:
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=now)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now)


def sync_run_finish(run: SyncRun, *, actor, error: str = "") -> bool:
    """Mark the run finished (once: False when it was already) with its summary event; its leases are released.

    Rows left over were claimed up front but are no longer to sync (the Sandbox API stopped listing
    them as active), or the run failed before reaching them.
    """
    with transaction.atomic():
        now = timezone.now()
        if not SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
            finished_at=now, heartbeat_at=now, error=error
        ):
            return False
        SyncRunSandbox.objects.filter(run=run).exclude(state__in=SyncRunSandbox.DONE_STATES).update(
            state=State.FAILED if error else State.SKIPPED,
            error=error or NOT_LISTED,
            finished_at=now,
        )
        Sandbox.objects.filter(sync_lease_token=run.token).update(**RELEASED)
        _summary_record(SyncRun.objects.get(pk=run.pk), actor=actor)
    return True


def sync_run_summary(run: SyncRun) -> str:
    """``Sync run #12 of all sandboxes (scheduled): 200 sandboxes, 2 changed, 197 unchanged, 1 failed.``"""
    counts = {state: 0 for state in State.values}
    changed = 0
    for state, has_changes in SyncRunSandbox.objects.filter(run=run).values_list("state", "has_changes"):
        counts[state] += 1
        changed += has_changes
    total = sum(counts.values())
    what = f"sandbox {run.scope}" if run.scope else "all sandboxes"
    how = " (scheduled)" if run.scheduled else ""
    parts = [f"{changed} changed", f"{counts[State.SUCCEEDED] - changed} unchanged"]
    parts += [f"{counts[state]} {state}" for state in (State.FAILED, State.SKIPPED) if counts[state]]
    text = f"Sync run #{run.pk} of {what}{how}: {total} sandbox{'es' if total != 1 else ''}, {', '.join(parts)}."
    return f"{text} {run.error}" if run.error else text


def _summary_record(run: SyncRun, *, actor) -> None:
    failed = bool(run.error) or SyncRunSandbox.objects.filter(run=run, state=State.FAILED).exists()
    if run.scheduled and not run.error:
        return
    audit_record(
        action="sandbox.sync_failed" if failed else "sandbox.synced",
        actor=actor,
        outcome="failure" if failed else "success",
        detail=sync_run_summary(run),  # no sandbox: the sandboxes' own events are those that name one
    )
