"""What the task queue looks like now: for the "Background tasks" page and for metrics.

    from flowadmin.tasks.status import queue_status
    queue_status()  # {"depth": 3, "oldest_age_seconds": 12.5, "running": 1, "failed_recent": 0}

Read from the database the workers share (the ORM broker's queue and django-q2's results), so any
process sees the same figures. A queued task is one no worker holds; a running one is held (taken,
and neither finished nor abandoned by a dead worker yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Min
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from flowadmin.tasks.schedules import PREFIX

RECENT = timedelta(hours=1)
# Queued longer than this while no task finished meanwhile: probably no worker is running.
STALLED_AFTER = timedelta(minutes=2)


def queue_status(*, recent: timedelta = RECENT) -> dict:
    """``depth``: tasks waiting for a worker; ``oldest_age_seconds``: how long the oldest of them has
    waited (0.0 when none); ``running``: tasks held by a worker; ``failed_recent``: attempts that
    failed within ``recent`` (one hour)."""
    now = timezone.now()
    queued = OrmQ.objects.filter(lock__lte=now)
    figures = queued.aggregate(oldest=Min("lock"))
    return {
        "depth": queued.count(),
        "oldest_age_seconds": (now - figures["oldest"]).total_seconds() if figures["oldest"] else 0.0,
        "running": OrmQ.objects.filter(lock__gt=now).count(),
        "failed_recent": Task.objects.filter(success=False, stopped__gte=now - recent).count(),
    }


@dataclass(frozen=True)
class Overview:
    status: dict
    last_finished: datetime | None
    schedules: list[Schedule]
    retries: list[Schedule]
    failures: list[Task]

    @property
    def stalled(self) -> bool:
        """Tasks wait, and nothing finished since the oldest was queued: is a worker running?"""
        oldest = timedelta(seconds=self.status["oldest_age_seconds"])
        if not self.status["depth"] or oldest < STALLED_AFTER:
            return False
        return self.last_finished is None or timezone.now() - self.last_finished > oldest


def tasks_overview(*, failures: int = 10) -> Overview:
    return Overview(
        status=queue_status(),
        last_finished=Task.objects.aggregate(last=Max("stopped"))["last"],
        schedules=list(Schedule.objects.filter(name__startswith=PREFIX).order_by("name")),
        retries=list(Schedule.objects.filter(schedule_type=Schedule.ONCE, name__isnull=True).order_by("next_run")[:20]),
        failures=list(Task.objects.filter(success=False).order_by("-stopped")[:failures]),
    )
