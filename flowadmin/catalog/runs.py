"""Background sync runs: one click starts a run (or finds the one already syncing), a thread does it.

A run claims the sandboxes it knows of up front with its own token, so a second click finds them
claimed and is given the same run; its per-sandbox rows follow the progress.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowadmin.catalog.errors import DISCOVERY_FAILED, NOT_LISTED, UNEXPECTED_ERROR
from flowadmin.catalog.leases import sandboxes_claim
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.sync import STATE_ACTIVE, in_own_connection, sandboxes_sync
from flowadmin.flowservice import FlowServiceError

logger = logging.getLogger("flowadmin.catalog")


@dataclass(frozen=True)
class SyncRunStart:
    """The run that `sync_run_start` started, or (``created`` False) the one already syncing."""

    run: SyncRun
    created: bool
    thread: threading.Thread | None = None


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
    on_result: Callable[[SyncResult], None] | None = None,
) -> SyncRunStart:
    """Start syncing one sandbox (None: every sandbox), or find the run that already syncs it.

    The sandboxes already known are claimed here, with the new run's token, so that a second click
    finds them claimed and gets the same run back. ``background`` runs the sync on a daemon thread
    and returns at once; otherwise it runs here and returns when done.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    scope = (sandbox_name or "").strip().lower()
    targets = [scope] if scope else _known_targets()
    with transaction.atomic():
        run = SyncRun.objects.create(
            scope=scope,
            token=uuid.uuid4().hex,
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
        thread = threading.Thread(
            target=in_own_connection(sync_run_execute),
            kwargs={"run": run, "actor": user, "on_result": on_result},
            name=f"flowadmin-sync-run-{run.pk}",
            daemon=True,
        )
        thread.start()
        return SyncRunStart(run=run, created=True, thread=thread)
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


def sync_run_execute(*, run: SyncRun, actor=None, on_result: Callable[[SyncResult], None] | None = None) -> None:
    """Do a run's work and mark it finished, whatever happens; its leases are released."""
    error = ""
    try:
        sandboxes_sync(names=[run.scope] if run.scope else None, actor=actor, run=run, on_result=on_result)
    except FlowServiceError as failure:
        error = f"{DISCOVERY_FAILED}: {failure}"
    except Exception:
        logger.exception("sync run %s failed", run.pk)
        error = UNEXPECTED_ERROR
    finally:
        now = timezone.now()
        # Rows left over: claimed up front but no longer to sync (the Sandbox API stopped listing
        # them as active), or the run failed before reaching them.
        SyncRunSandbox.objects.filter(run=run).exclude(state__in=SyncRunSandbox.DONE_STATES).update(
            state=SyncRunSandbox.State.FAILED if error else SyncRunSandbox.State.SKIPPED,
            error=error or NOT_LISTED,
            finished_at=now,
        )
        SyncRun.objects.filter(pk=run.pk).update(finished_at=now, heartbeat_at=now, error=error)
        Sandbox.objects.filter(sync_lease_token=run.token).update(
            sync_lease_until=None, sync_lease_token="", sync_run=None
        )
