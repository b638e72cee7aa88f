"""The catalog's background tasks: a sync run asked for on a page, and the scheduled sync of every sandbox."""

from __future__ import annotations

from django.db import OperationalError

from flowadmin.audit.correlation import correlation
from flowadmin.catalog.models import SyncRun
from flowadmin.catalog.run_parts import sync_run_dispatch
from flowadmin.catalog.run_parts import sync_run_part as _sync_run_part
from flowadmin.catalog.runs import sync_run_start, sync_run_summary
from flowadmin.tasks.queue import retrying


@retrying(on=(OperationalError,), attempts=3)
def sync_run(run_pk: int, correlation_id: str | None = None) -> str:
    """Do sync run ``run_pk`` (or what an interrupted attempt left of it), or split it into `sync_run_part`
    tasks (`flowadmin.catalog.run_parts`); nothing once it is finished."""
    run = SyncRun.objects.select_related("requested_by").filter(pk=run_pk).first()
    if run is None or run.is_finished:
        return f"Sync run #{run_pk}: finished already, nothing to do."
    with correlation(correlation_id):
        parts = sync_run_dispatch(run=run, actor=run.requested_by)
    run = SyncRun.objects.get(pk=run_pk)
    if parts and not run.is_finished:
        return f"Sync run #{run_pk}: split into {parts} parts."
    return sync_run_summary(run)


@retrying(on=(OperationalError,), attempts=3)
def sync_run_part(run_pk: int, names: list[str], correlation_id: str | None = None) -> str:
    """Sync those of ``names`` that sync run ``run_pk`` has not finished; the last part to end finishes the run."""
    run = SyncRun.objects.select_related("requested_by").filter(pk=run_pk).first()
    if run is None or run.is_finished:
        return f"Sync run #{run_pk}: finished already, nothing to do."
    with correlation(correlation_id):
        _sync_run_part(run=run, names=names, actor=run.requested_by)
    run = SyncRun.objects.get(pk=run_pk)
    if run.is_finished:
        return sync_run_summary(run)
    return f"Sync run #{run_pk}: {len(names)} sandboxes of a part done."


def sync_scheduled() -> str:
    """Every `FLOWADMIN_SYNC_SCHEDULE_MINUTES`: start a run of every sandbox, unless one is going.

    The run itself is a `sync_run` task of its own, so a worker killed midway hands it on like any other.
    """
    with correlation() as correlation_id:
        started = sync_run_start(scheduled=True, correlation_id=correlation_id)
    if not started.created:
        return f"Sync run #{started.run.pk} was syncing these sandboxes already: nothing started."
    return f"Sync run #{started.run.pk} started."
