"""A sync run split across the task workers' processes: its sandboxes in parts, one task each.

The run's own task (`flowadmin.catalog.tasks.sync_run`) calls `sync_run_dispatch`: it finds the
sandboxes left to sync (listing them from the Sandbox API for an all-sandboxes run) and splits them
into at most `FLOWADMIN_SYNC_PARTS` parts. A run of one part (or with ``FLOWADMIN_TASKS_SYNC``, where
tasks run inline) is done there and then; otherwise a
`flowadmin.catalog.tasks.sync_run_part` task is queued per part, in the transaction that records
the split, so a dispatch delivered again finds the run split and leaves it to its parts. django-q2's
worker processes take the parts side by side; each part syncs those of its sandboxes not finished
yet (a part delivered again after its worker died carries on where it stopped) on its share of
`FLOWADMIN_SYNC_CONCURRENCY` threads. The part that finishes the run's last sandbox finishes the run
(`sync_run_finish`: once, with one summary event). Every part claims its sandboxes with the run's
token: the leases, progress rows and heartbeat are the run's, as when one task does it all.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flowadmin.audit.correlation import correlation_id_current
from flowadmin.catalog.errors import NOT_LISTED
from flowadmin.catalog.models import SyncRun, SyncRunSandbox
from flowadmin.catalog.progress import run_rows_add
from flowadmin.catalog.runs import (
    sync_run_attempt,
    sync_run_execute,
    sync_run_finish,
    sync_run_names_left,
    sync_run_started,
)
from flowadmin.catalog.sync import sandboxes_resolve, sandboxes_sync
from flowadmin.tasks.queue import enqueue, runs_inline

State = SyncRunSandbox.State
PART_TASK = "flowadmin.catalog.tasks.sync_run_part"


def parts_of(names: list[str], parts: int) -> list[list[str]]:
    """``names`` in at most ``parts`` runs of consecutive names, as even as can be."""
    count = max(1, min(parts, len(names)))
    size, extra = divmod(len(names), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        chunks.append(names[start:end])
        start = end
    return [chunk for chunk in chunks if chunk]


def sync_run_dispatch(*, run: SyncRun, actor=None) -> int:
    """Do the run here or split it into parts queued for the workers; the number of parts (0: nothing queued)."""
    if run.parts:
        return 0  # split already (this is the task delivered again): its parts do the rest
    names = sync_run_names_left(run)
    if settings.FLOWADMIN_SYNC_PARTS < 2 or (names is not None and len(names) < 2) or runs_inline():
        # Tasks that run inline (the test suite) would run the parts one after the other, here.
        sync_run_execute(run=run, actor=actor)
        return 0
    sync_run_started(run)
    resolved: list[list[str]] = []
    error = sync_run_attempt(run, lambda: resolved.extend(sandboxes_resolve(names, None)))
    if error:
        sync_run_finish(run, actor=actor, error=error)
        return 0
    targets, unknown = resolved
    wanted = targets + unknown
    run_rows_add(run, targets)
    # Claimed up front but no longer listed as active by the Sandbox API: nothing to sync.
    SyncRunSandbox.objects.filter(run=run).exclude(state__in=SyncRunSandbox.DONE_STATES).exclude(
        sandbox_name__in=wanted
    ).update(state=State.SKIPPED, error=NOT_LISTED, finished_at=timezone.now())
    chunks = parts_of(wanted, settings.FLOWADMIN_SYNC_PARTS)
    if len(chunks) < 2:
        sync_run_part(run=run, names=wanted, actor=actor)
        return 0
    with transaction.atomic():
        if not SyncRun.objects.filter(pk=run.pk, parts=0).update(parts=len(chunks)):
            return 0
        for number, chunk in enumerate(chunks, 1):
            label = f"sync run {run.pk}: part {number} of {len(chunks)}, {len(chunk)} sandboxes"
            enqueue(PART_TASK, run.pk, chunk, correlation_id=correlation_id_current(), name=label)
    return len(chunks)


def sync_run_part(*, run: SyncRun, names: list[str], actor=None) -> None:
    """Sync those of ``names`` the run has not finished, then finish the run if nothing is left of it."""
    done = set(
        SyncRunSandbox.objects.filter(
            run=run, sandbox_name__in=names, state__in=SyncRunSandbox.DONE_STATES
        ).values_list("sandbox_name", flat=True)
    )
    left = [name for name in names if name not in done]
    threads = math.ceil(settings.FLOWADMIN_SYNC_CONCURRENCY / max(1, run.parts))
    error = sync_run_attempt(
        run, lambda: left and sandboxes_sync(names=left, actor=actor, run=run, concurrency=threads)
    )
    if error:
        SyncRunSandbox.objects.filter(run=run, sandbox_name__in=left).exclude(
            state__in=SyncRunSandbox.DONE_STATES
        ).update(state=State.FAILED, error=error, finished_at=timezone.now())
    if not SyncRunSandbox.objects.filter(run=run).exclude(state__in=SyncRunSandbox.DONE_STATES).exists():
        sync_run_finish(run, actor=actor)
