"""A sync run's progress: a row per sandbox (queued, running, finished with its counts or error) and
the run's heartbeat, written as `flowadmin.catalog.sync` syncs its sandboxes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.utils import timezone

from flowadmin.catalog.models import SyncRun, SyncRunSandbox
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.sync_writes import writing

FINISHED_FIELDS = ("state", "error", "new", "changed", "unchanged", "vanished", "has_changes", "note", "finished_at")
HEARTBEAT_SECONDS = 1.0  # a run's sign of life is written at most this often (it is stale after a lease)


def run_rows_add(run: SyncRun, names: list[str]) -> dict[str, int]:
    """A progress row (queued) for each of ``names`` that the run does not list yet; {name: pk} of its rows."""
    rows = SyncRunSandbox.objects.filter(run=run)
    listed = set(rows.values_list("sandbox_name", flat=True))
    SyncRunSandbox.objects.bulk_create(
        [SyncRunSandbox(run=run, sandbox_name=name) for name in names if name not in listed],
        batch_size=500,
        ignore_conflicts=True,
    )
    return dict(rows.values_list("sandbox_name", "pk"))


class Progress:
    """A run's per-sandbox rows and its heartbeat (at most one write a second), and ``on_result``."""

    def __init__(self, run: SyncRun | None, on_result: Callable[[SyncResult], None] | None) -> None:
        self.run, self.on_result = run, on_result
        self._lock = threading.Lock()
        self._beaten = 0.0
        self._rows: dict[str, int] = {}  # sandbox name: pk of its row

    def add(self, names: list[str]) -> None:
        """A row for each of ``names`` that the run does not list yet."""
        if self.run is None:
            return
        self._rows = run_rows_add(self.run, names)

    def start(self, name: str) -> None:
        if self.run is None:
            return
        now = timezone.now()
        with writing():
            SyncRunSandbox.objects.filter(run=self.run, sandbox_name=name).update(
                state=SyncRunSandbox.State.RUNNING, started_at=now
            )
            self._beat(now)

    def note(self, name: str, text: str) -> None:
        """What a running sandbox is doing (a retry and why), shown beside its progress."""
        if self.run is not None:
            SyncRunSandbox.objects.filter(run=self.run, sandbox_name=name, state=SyncRunSandbox.State.RUNNING).update(
                note=text[:255]
            )

    def finish(self, result: SyncResult) -> None:
        self.record([result])
        self.notify(result)

    def record(self, results: list[SyncResult]) -> None:
        """The rows of ``results`` finished (in the caller's transaction, if any)."""
        if self.run is None:
            return
        now = timezone.now()
        known, other = [], []
        for result in results:
            if result.ok:
                state = SyncRunSandbox.State.SUCCEEDED
            elif result.busy:
                state = SyncRunSandbox.State.SKIPPED
            else:
                state = SyncRunSandbox.State.FAILED
            fields = {
                "state": state,
                "error": result.error,
                "new": result.new,
                "changed": result.changed,
                "unchanged": result.unchanged,
                "vanished": result.vanished,
                "has_changes": result.has_changes,
                "note": "",
                "finished_at": now,
            }
            pk = self._rows.get(result.sandbox)
            if pk is None:
                other.append((result.sandbox, fields))
            else:
                known.append(SyncRunSandbox(pk=pk, run=self.run, sandbox_name=result.sandbox, **fields))
        if known:
            SyncRunSandbox.objects.bulk_update(known, list(FINISHED_FIELDS))
        for name, fields in other:
            SyncRunSandbox.objects.update_or_create(run=self.run, sandbox_name=name, defaults=fields)
        self._beat(now)

    def notify(self, result: SyncResult) -> None:
        if self.on_result is not None:
            self.on_result(result)

    def _beat(self, now) -> None:
        moment = time.monotonic()
        with self._lock:
            if moment - self._beaten < HEARTBEAT_SECONDS:
                return
            self._beaten = moment
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=now)
