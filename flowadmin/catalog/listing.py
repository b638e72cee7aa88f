"""The HTTP half of a sync: a sandbox's two catalogues as the remote API lists them.

`remote_list` lists one sandbox's flow specs and connection specs (side by side when the sync has
request slots to spare) and hands back what was answered, or the error, with the exchanges; it never
touches the database. `listings_ahead` starts those listings for named sandboxes the cache has never
seen while the Sandbox API is still being asked whether they exist: a first sync of a few sandboxes
then takes one round trip less. A name the Sandbox API does not list is refused as before; what was
listed ahead for it is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from flowadmin.catalog.models import Sandbox
from flowadmin.flowservice import FlowServiceError, retries_reported


@dataclass
class Remote:
    """What a sandbox's listings answered: both catalogues, or the first error; every exchange."""

    flow_specs: list[dict] | None = None
    connection_specs: list[dict] | None = None
    error: Exception | None = None
    exchanges: list = field(default_factory=list)
    listed_at: datetime = field(default_factory=timezone.now)  # cached rows written after it are newer


def remote_list(client, sandbox_name: str, *, side_by_side: bool = False) -> Remote:
    """List the sandbox's flow specs and connection specs: one after the other, or with
    ``side_by_side`` the connection specs on a thread of their own while the flow specs are listed
    (one round trip instead of two). A `FlowServiceError` is handed back, not raised."""
    remote = Remote()
    try:
        with client.recording() as remote.exchanges:
            if side_by_side:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowadmin-sync-list") as pool:
                    beside = pool.submit(_recorded, client, client.list_connection_specs, sandbox_name)
                    try:
                        remote.flow_specs = client.list_flow_specs(sandbox_name)
                    finally:
                        remote.connection_specs, error, theirs = beside.result()
                        remote.exchanges.extend(theirs)
                if error is not None:
                    raise error
            else:
                remote.flow_specs = client.list_flow_specs(sandbox_name)
                remote.connection_specs = client.list_connection_specs(sandbox_name)
    except FlowServiceError as error:  # the caller records it (or, for a name that does not exist, drops it)
        remote.error = error
    return remote


def _recorded(client, list_call: Callable[[str], list[dict]], sandbox_name: str) -> tuple:
    """``list_call(sandbox_name)`` on this thread: (its answer or None, its error or None, its exchanges)."""
    with client.recording() as exchanges:
        try:
            return list_call(sandbox_name), None, exchanges
        except Exception as error:  # handed to the caller's thread, which raises it there
            return None, error, exchanges


class RetryNotes:
    """Retry notices of listings started before there is anywhere to show them: each sandbox's latest
    is held until `show_with` says where to show notes, then passed on as they come."""

    def __init__(self):
        self._lock = threading.Lock()
        self._show: Callable[[str, str], None] | None = None
        self._held: dict[str, str] = {}

    def tell(self, name: str, text: str) -> None:
        with self._lock:
            if self._show is None:
                self._held[name] = text
                return
        self._show(name, text)

    def show_with(self, show: Callable[[str, str], None]) -> None:
        with self._lock:
            self._show, held, self._held = show, self._held, {}
        for name, text in held.items():
            show(name, text)


@contextlib.contextmanager
def listings_ahead(
    names: Iterable[str] | None, client, *, slots: int, notes: RetryNotes
) -> Iterator[dict[str, Future[Remote]]]:
    """``{name: Future[Remote]}`` for the named sandboxes (lower-cased) the cache has no row for,
    their listings started at once, side by side, when all of them fit in ``slots`` requests at once
    (a few sandboxes); else nothing is listed ahead. Their retries are told to ``notes``. The
    listings not taken are waited for on exit."""
    wanted = list(dict.fromkeys(name.strip().lower() for name in names or () if name.strip()))
    new = sorted(set(wanted) - set(Sandbox.objects.filter(name__in=wanted).values_list("name", flat=True)))
    if not new or 2 * len(new) > slots:
        yield {}
        return
    with ThreadPoolExecutor(max_workers=len(new), thread_name_prefix="flowadmin-sync-ahead") as pool:
        yield {name: pool.submit(_listed_ahead, client, name, notes) for name in new}


def _listed_ahead(client, name: str, notes: RetryNotes) -> Remote:
    try:
        with retries_reported(lambda notice: notes.tell(name, notice.text)):
            return remote_list(client, name, side_by_side=True)
    finally:
        connection.close()  # a note shown from this thread was written on a connection of its own
