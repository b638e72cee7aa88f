"""What the tests of background tasks share: running what is queued, here, as a worker would."""

from __future__ import annotations

from django_q.models import OrmQ
from django_q.tasks import async_task


def run_queued() -> list[tuple[str, bool]]:
    """Take every queued task off the queue and run it in this process, those the tasks queue too: (dotted path,
    succeeded) of each."""
    ran = []
    while (row := OrmQ.objects.order_by("id").first()) is not None:
        task = row.task
        row.delete()
        try:
            async_task(task["func"], *task["args"], sync=True, **task["kwargs"])
            ran.append((task["func"], True))
        except Exception:
            ran.append((task["func"], False))
    return ran
