"""A worker's hold on a task counts from the moment it starts the task, not from when it took it.

The ORM broker hands a task out by setting its `lock` to now + FLOWADMIN_TASK_RETRY; until then no
other worker takes it, after it any worker does (the task was taken by a worker that died). A
cluster takes a few tasks ahead of its free workers (`queue_limit`), so a task could wait behind a
long one and start with less of its time left than FLOWADMIN_TASK_TIMEOUT; renewing the lock as it
starts keeps "a task still running is never handed out again" true.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signals import pre_execute


def lock_renew(sender, func=None, task=None, **kwargs) -> None:
    ack_id = (task or {}).get("ack_id")
    if ack_id and not task.get("sync"):
        OrmQ.objects.filter(pk=ack_id).update(lock=timezone.now() + timedelta(seconds=settings.FLOWADMIN_TASK_RETRY))


def connect() -> None:
    pre_execute.connect(lock_renew, dispatch_uid="flowadmin.tasks.lock_renew")
