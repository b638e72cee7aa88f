"""The catalog's background tasks: a sync run asked for on a page, and the scheduled sync of every sandbox."""

from __future__ import annotations

from django.db import OperationalError

from flowadmin.audit.correlation import correlation
from flowadmin.catalog.models import SyncRun
from flowadmin.catalog.runs import sync_run_execute, sync_run_start, sync_run_summary
from flowadmin.tasks.queue import retrying


@retrying(on=(OperationalError,), attempts=3)
def sync_run(run_pk: int, correlation_id: str | None = None) -> str:
    """Do sync run ``run_pk`` (or what an interrupted attempt left of it); nothing once it is finished."""
    run = SyncRun.objects.select_related("requested_by").filter(pk=run_pk).first()
    if run is None or run.is_finished:
        return f"Sync run #{run_pk}: finished already, nothing to do."
    with correlation(correlation_id):
        sync_run_execute(run=run, actor=run.requested_by)
    return sync_run_summary(SyncRun.objects.get(pk=run_pk))


def sync_scheduled() -> str:
    """Every `FLOWADMIN_SYNC_SCHEDULE_MINUTES`: start a run of every sandbox, unless one is going.

    The run itself is a `sync_run` task of its own, so a worker killed midway hands it on like any other.
    """
    with correlation() as correlation_id:
        started = sync_run_start(scheduled=True, correlation_id=correlation_id)
    if not started.created:
        return f"Sync run #{started.run.pk} was syncing these sandboxes already: nothing started."
    return f"Sync run #{started.run.pk} started."
