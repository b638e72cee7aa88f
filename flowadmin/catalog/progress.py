"""A sync run's progress: a row per sandbox (queued, running, finished with its counts or error) and
the run's heartbeat, written as `flowadmin.catalog.sync` syncs its sandboxes.

A sandbox's start is written at once only when no row of the sync shows it at work; the starts of the
others are written with the heartbeat (at most once a second) or a retry's note, so a sandbox shows
running once it has been at it for about a second, and one synced in less goes from queued to
finished in one write. Each row keeps the moment its own sandbox started."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from flowadmin.catalog.models import SyncRun, SyncRunSandbox
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.sync_writes import writing

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
        self._started: dict[str, datetime] = {}  # started, not finished: since when
        self._unwritten: set[str] = set()  # started, their rows still say queued
        self._shown: set[str] = set()  # started, their rows say running

    def add(self, names: list[str]) -> None:
        """A row for each of ``names`` that the run does not list yet."""
        if self.run is None:
            return
        self._rows = run_rows_add(self.run, names)

    def start(self, name: str) -> None:
        if self.run is None:
            return
        now = timezone.now()
        with self._lock:
            self._started[name] = now
            self._unwritten.add(name)
            alone = not self._shown  # nothing shows the sync at work: this start does, now
        if alone or self._beat_due():
            with writing():
                if alone:
                    self._starts_write()
                self._beat(now)

    def note(self, name: str, text: str) -> None:
        """What a running sandbox is doing (a retry and why), shown beside its progress."""
        if self.run is None:
            return
        with self._lock:
            started = self._started.get(name) or timezone.now()
            self._unwritten.discard(name)
            self._shown.add(name)
        SyncRunSandbox.objects.filter(run=self.run, sandbox_name=name).exclude(
            state__in=SyncRunSandbox.DONE_STATES
        ).update(state=SyncRunSandbox.State.RUNNING, started_at=started, note=text[:255])

    def finish(self, result: SyncResult) -> None:
        self.record([result])
        self.notify(result)

    def record(self, results: list[SyncResult]) -> None:
        """The rows of ``results`` finished (in the caller's transaction, if any).

        Rows that finished alike (a warm sync's are all "succeeded, n unchanged") take one statement."""
        if self.run is None:
            return
        now = timezone.now()
        with self._lock:
            started = {result.sandbox: self._started.pop(result.sandbox, None) for result in results}
            self._unwritten.difference_update(started)
            self._shown.difference_update(started)
        alike: dict[tuple, list[tuple[int, datetime | None]]] = {}  # finished fields: (pk, start) of each row
        for result in results:
            fields = _finished_fields(result, now)
            pk = self._rows.get(result.sandbox)
            if pk is None:
                if started[result.sandbox] is not None:
                    fields["started_at"] = started[result.sandbox]
                SyncRunSandbox.objects.update_or_create(run=self.run, sandbox_name=result.sandbox, defaults=fields)
            else:
                alike.setdefault(tuple(fields.items()), []).append((pk, started[result.sandbox]))
        for fields, rows in alike.items():
            starts = [(pk, at) for pk, at in rows if at is not None]
            since = {"started_at": _each_since(starts, default=F("started_at"))} if starts else {}
            SyncRunSandbox.objects.filter(pk__in=[pk for pk, _ in rows]).update(**dict(fields), **since)
        self._beat(now)

    def notify(self, result: SyncResult) -> None:
        if self.on_result is not None:
            self.on_result(result)

    def _starts_write(self) -> None:
        """The rows of the sandboxes started since the last write say running, each since its start."""
        with self._lock:
            starts = [(self._rows[name], self._started[name]) for name in self._unwritten if name in self._rows]
            self._unwritten.clear()
            self._shown.update(name for name in self._started if name in self._rows)
        if starts:  # a row finished meanwhile (by another thread's write) stays finished
            SyncRunSandbox.objects.filter(pk__in=[pk for pk, _ in starts]).exclude(
                state__in=SyncRunSandbox.DONE_STATES
            ).update(state=SyncRunSandbox.State.RUNNING, started_at=_each_since(starts))

    def _beat_due(self) -> bool:
        return time.monotonic() - self._beaten >= HEARTBEAT_SECONDS

    def _beat(self, now) -> None:
        """The run's sign of life and the starts not written yet, when a second has passed since the last."""
        moment = time.monotonic()
        with self._lock:
            if moment - self._beaten < HEARTBEAT_SECONDS:
                return
            self._beaten = moment
        self._starts_write()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=now)


def _finished_fields(result: SyncResult, now: datetime) -> dict:
    if result.ok:
        state = SyncRunSandbox.State.SUCCEEDED
    elif result.busy:
        state = SyncRunSandbox.State.SKIPPED
    else:
        state = SyncRunSandbox.State.FAILED
    return {
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


def _each_since(starts: list[tuple[int, datetime]], default=None) -> Case:
    """The start of each row (by pk) as one expression, for an update of them all."""
    whens = [When(pk=pk, then=Value(at)) for pk, at in starts]
    return Case(*whens, default=default, output_field=DateTimeField())
