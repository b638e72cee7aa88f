"""Enqueueing background tasks, and retrying them with back-off.

    from flowadmin.tasks.queue import enqueue, retrying

    @retrying(on=(OSError,), attempts=5)                # a failed attempt runs again 30 s, 1, 2, 4 min later
    def mail_send(subject, body, recipients): ...

    enqueue("flowadmin.tasks.mail.mail_send", subject, body, ["a@example.com"], name="mail: ...")

A task is a module-level function named by its dotted path, called with plain values (numbers,
strings, lists of them): they are stored as they are, and a retry's are read back as literals. Inside
a transaction the task is stored in it: a worker sees it once the transaction commits, and never
when it rolls back. Delivery is at least once (a worker killed mid-task leaves it to be delivered
again), so every task must be safe to run twice: flowadmin's tasks resume from the state they left
in the database (a sync run's finished sandboxes, a rollout's claim token).

With ``FLOWADMIN_TASKS_SYNC`` (the test suite) a task runs at once in the calling process, through
the same package django-q2 sends to a worker; its failure is logged, never raised to the caller.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

logger = logging.getLogger("flowadmin.tasks")

NAME_LENGTH = 100  # django-q2's task names


def enqueue(func: str, *args, name: str = "", **kwargs) -> str | None:
    """Queue ``func(*args, **kwargs)`` for a worker; the task id (None when it ran here and failed)."""
    options = {"task_name": name[:NAME_LENGTH]} if name else {}
    if settings.FLOWADMIN_TASKS_SYNC:
        try:
            return async_task(func, *args, sync=True, **options, **kwargs)
        except Exception:
            logger.exception("task %s failed", name or func)
            return None
    return async_task(func, *args, **options, **kwargs)


def runs_inline() -> bool:
    """Tasks run at once in the process that enqueues them (``FLOWADMIN_TASKS_SYNC``): none side by side."""
    return settings.FLOWADMIN_TASKS_SYNC


def retry_delay(attempt: int, *, backoff: int, backoff_max: int) -> int:
    """Seconds before attempt ``attempt + 1``: ``backoff``, doubled each attempt, at most ``backoff_max``."""
    return min(backoff_max, backoff * 2 ** (attempt - 1))


def retrying(
    *, on: tuple[type[BaseException], ...], attempts: int = 5, backoff: int = 30, backoff_max: int = 1800
) -> Callable:
    """A task that, failing with one of ``on``, runs again later, up to ``attempts`` times in all.

    The failed attempt still fails (the worker records it, with its error, as a failed task); the
    next one is a one-off schedule ``retry_delay`` seconds ahead (the workers look at schedules
    about every 30 s). Other errors are not retried: they are bugs, or final answers.
    """

    def decorate(function: Callable) -> Callable:
        path = f"{function.__module__}.{function.__qualname__}"

        @functools.wraps(function)
        def task(*args, _attempt: int = 1, **kwargs):
            try:
                return function(*args, **kwargs)
            except on as error:
                if _attempt >= attempts:
                    logger.error("%s failed %d times, the last with %r: giving up", path, _attempt, error)
                    raise
                delay = retry_delay(_attempt, backoff=backoff, backoff_max=backoff_max)
                Schedule.objects.create(
                    func=path,
                    args=repr(tuple(args)),
                    kwargs=repr({**kwargs, "_attempt": _attempt + 1}),
                    schedule_type=Schedule.ONCE,
                    repeats=-1,  # a one-off schedule removes itself once it has run
                    next_run=timezone.now() + timedelta(seconds=delay),
                )
                logger.warning(
                    "%s failed (attempt %d of %d): %r; retrying in %d s", path, _attempt, attempts, error, delay
                )
                raise

        task.attempts = attempts
        return task

    return decorate
