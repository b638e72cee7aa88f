"""Storing what syncs listed: the listings of several sandboxes in one transaction.

`listings_store` writes a batch of listings (cache rows, each sandbox's outcome and lease, its audit
events, the sync run's progress rows) in one transaction: a few statements for all of them, one
lock of the audit chain and one commit. `GroupCommit` lets the threads of a sync hand their listings
over as they come: whichever thread gets to write takes every listing waiting, its own included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from flowadmin.audit.services import audit_event_new, audit_record_many
from flowadmin.catalog.cache import Listing, connection_specs_store, flow_specs_store
from flowadmin.catalog.leases import RELEASED
from flowadmin.catalog.models import Sandbox
from flowadmin.catalog.results import SyncResult

_SQLITE_WRITER = threading.Lock()  # see writing
BATCH_MAX = 50  # sandboxes written in one transaction at most


@dataclass(frozen=True)
class Listed:
    """One sandbox as the remote API listed it, read into cache columns, ready to store."""

    sandbox: Sandbox
    flow_columns: dict[str, tuple[dict, dict[str, Any]]]
    connection_columns: dict[str, dict[str, str]]
    http: list[dict]
    listed_at: datetime  # cached rows written after this are newer than the listing
    flow_specs_listed: int  # items in the listing (its columns hold each id once)
    release: str | None = None  # the lease token to give back in the same transaction


def writing() -> AbstractContextManager:
    """Where a sync's write transaction waits its turn: on SQLite, behind the other syncs of this process.

    SQLite lets one transaction write at a time, and a connection that finds the database locked
    sleeps in SQLite's busy handler, up to 100 ms between tries; the syncs of one process queue on a
    lock instead, which hands over at once. (In a transaction already, this thread holds SQLite's
    lock: nothing to wait for.) Other databases write in parallel.
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        return _SQLITE_WRITER
    return nullcontext()


def listings_store(
    items: list[Listed], *, actor, on_stored: Callable[[list[SyncResult]], None] | None = None
) -> list[SyncResult]:
    """Store ``items`` in one transaction and return their results, in their order.

    Each sandbox's outcome is written (and its lease given back) first, which locks its row until the
    commit. A sandbox whose cache changed gets ``sandbox.synced`` after its ``flowspec.changed_remotely``
    events; all are appended to the audit chain together. ``on_stored`` is called in the transaction.
    """
    with writing(), transaction.atomic():
        now = timezone.now()
        _outcomes_record(items, now)
        connection_counts = connection_specs_store([(item.sandbox, item.connection_columns) for item in items])
        listings = [
            Listing(
                sandbox=item.sandbox,
                wanted=item.flow_columns,
                connection_specs=connection_counts[item.sandbox.pk][0],
                listed_at=item.listed_at,
            )
            for item in items
        ]
        stored, remote_events = flow_specs_store(listings, actor=actor)
        results, events = [], []
        for item, result in zip(items, stored, strict=True):
            result = replace(result, connection_specs_changed=connection_counts[item.sandbox.pk][1])
            results.append(result)
            if result.has_changes:  # a sync that changed nothing leaves no event
                events += [event for event in remote_events if event.sandbox == item.sandbox.name]
                events.append(
                    audit_event_new(
                        action="sandbox.synced",
                        actor=actor,
                        sandbox=item.sandbox.name,
                        http=item.http,
                        detail=f"{item.flow_specs_listed} flow specs: {result.summary()}.",
                    )
                )
        audit_record_many(events)
        if on_stored is not None:
            on_stored(results)
    return results


def _outcomes_record(items: list[Listed], now: datetime) -> None:
    """Each sandbox synced now; the leases of the tokens given are given back (if still theirs)."""
    Sandbox.objects.filter(pk__in=[item.sandbox.pk for item in items]).update(
        last_synced_at=now, last_sync_attempt_at=now, last_sync_error=""
    )
    tokens: dict[str, list[int]] = {}
    for item in items:
        if item.release is not None:
            tokens.setdefault(item.release, []).append(item.sandbox.pk)
    for token, pks in tokens.items():
        Sandbox.objects.filter(pk__in=pks, sync_lease_token=token).update(**RELEASED)


class _Slot:
    def __init__(self, item: Listed) -> None:
        self.item = item
        self.result: SyncResult | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """Listings handed over by several threads, stored a batch at a time by `listings_store`.

    A thread that hands one over waits for the turn to write, then writes every listing waiting (up
    to `BATCH_MAX`), or finds its own written already by another. A batch that fails is written again
    one listing at a time, so a bad sandbox fails alone.
    """

    def __init__(self, *, actor, on_stored: Callable[[list[SyncResult]], None] | None = None) -> None:
        self.actor, self.on_stored = actor, on_stored
        self._turn = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Slot] = []

    def store(self, item: Listed) -> SyncResult:
        slot = _Slot(item)
        with self._waiting_lock:
            self._waiting.append(slot)
        while not slot.done:
            with self._turn:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
                if batch:
                    self._write(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _write(self, batch: list[_Slot]) -> None:
        try:
            self._write_together(batch)
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                for slot in batch:
                    try:
                        self._write_together([slot])
                    except Exception as alone:
                        slot.error = alone
        finally:
            for slot in batch:
                slot.done = True

    def _write_together(self, batch: list[_Slot]) -> None:
        results = listings_store([slot.item for slot in batch], actor=self.actor, on_stored=self.on_stored)
        for slot, result in zip(batch, results, strict=True):
            slot.result = result
