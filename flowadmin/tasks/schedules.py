"""The recurring tasks: one line each in `SCHEDULES`, written into django-q2's schedules by every `migrate`.

    Recurring("audit.checkpoint", "flowadmin.audit.tasks.checkpoint_write", minutes=5),

``minutes`` is a number, or the name of a setting that holds one (0 turns the schedule off). The
workers (`manage.py qcluster`) run what is due, each schedule once however many workers there are
(they take it under a row lock). `schedules_apply` makes django-q2's table match this list: it
creates what is missing (due at once), updates what changed, removes what was taken out or turned
off; it touches only the schedules it owns (their names start with ``flowadmin:``), never one-off
retries or schedules added in the admin. It runs after every `migrate` and as
`manage.py task_schedules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

PREFIX = "flowadmin:"


@dataclass(frozen=True)
class Recurring:
    key: str  # the schedule's name, after PREFIX
    func: str  # dotted path of the task
    minutes: int | str  # every so many minutes, or the name of the setting that says how many

    @property
    def name(self) -> str:
        return PREFIX + self.key

    def every(self) -> int:
        value = getattr(settings, self.minutes) if isinstance(self.minutes, str) else self.minutes
        return max(0, int(value))


SCHEDULES = [
    Recurring("catalog.sync", "flowadmin.catalog.tasks.sync_scheduled", minutes="FLOWADMIN_SYNC_SCHEDULE_MINUTES"),
    Recurring("changes.reconcile", "flowadmin.changes.tasks.reconcile_changes", minutes=1),
    Recurring("audit.checkpoint", "flowadmin.audit.tasks.checkpoint_write", minutes=5),
    Recurring("audit.verify", "flowadmin.audit.tasks.verify_full", minutes=24 * 60),
]


def schedules_apply(schedules: list[Recurring] | None = None) -> list[str]:
    """Make flowadmin's schedules those of ``schedules`` (default `SCHEDULES`); what was done, one line each."""
    wanted = {item.name: item for item in (SCHEDULES if schedules is None else schedules) if item.every() > 0}
    done: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        existing = {row.name: row for row in Schedule.objects.select_for_update().filter(name__startswith=PREFIX)}
        for name, row in existing.items():
            if name not in wanted:
                row.delete()
                done.append(f"{name}: removed")
        for name, item in wanted.items():
            minutes = item.every()
            row = existing.get(name)
            if row is None:
                Schedule.objects.create(
                    name=name, func=item.func, schedule_type=Schedule.MINUTES, minutes=minutes, repeats=-1, next_run=now
                )
                done.append(f"{name}: created, every {minutes} min")
            elif (row.func, row.schedule_type, row.minutes, row.repeats) != (
                item.func,
                Schedule.MINUTES,
                minutes,
                -1,
            ):
                row.func, row.schedule_type, row.minutes, row.repeats = item.func, Schedule.MINUTES, minutes, -1
                row.next_run = min(row.next_run or now, now + timedelta(minutes=minutes))
                row.save()
                done.append(f"{name}: updated, every {minutes} min")
    return done


def schedules_after_migrate(sender, using="default", **kwargs) -> None:
    # post_migrate is sent once per app with models; django-q2's, whose table this writes, is the one.
    if sender.label == "django_q" and using == "default":
        schedules_apply()
