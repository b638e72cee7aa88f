"""Task queue metrics: an extension point for whatever runs flowadmin's background tasks.

flowadmin has no task queue of its own yet. A worker (django-q2 or another) registers a source per
queue, a function that reads its backlog from the database at scrape time, so every web process
reports the same figures:

    from flowadmin.ops.queues import QueueStats, queue_source_register

    def default_queue() -> QueueStats:
        waiting = Task.objects.filter(started_at__isnull=True)
        oldest = waiting.aggregate(oldest=Min("queued_at"))["oldest"]
        return QueueStats(depth=waiting.count(), oldest_enqueued_at=oldest)

    queue_source_register("default", default_queue)   # e.g. in the worker app's AppConfig.ready()

/metrics then reports ``flowadmin_task_queue_depth{queue="default"}`` and
``flowadmin_task_queue_oldest_age_seconds{queue="default"}``. Keep a source to one or two indexed
queries: it runs on every scrape. A source that raises is left out of that scrape (and logged).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QueueStats:
    depth: int  # tasks waiting to start
    oldest_enqueued_at: datetime | None = None  # when the oldest waiting task was queued (None: none waits)


QueueSource = Callable[[], QueueStats]

_sources: dict[str, QueueSource] = {}
_lock = threading.Lock()


def queue_source_register(name: str, source: QueueSource) -> None:
    """Report the queue ``name`` from ``source`` on every scrape (registering a name again replaces it)."""
    with _lock:
        _sources[name] = source


def queue_source_unregister(name: str) -> None:
    with _lock:
        _sources.pop(name, None)


def queue_sources() -> list[tuple[str, QueueSource]]:
    with _lock:
        return sorted(_sources.items())
