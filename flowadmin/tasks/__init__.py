"""Background tasks: the one place flowadmin talks to its task engine (django-q2, ORM broker).

* `flowadmin.tasks.queue`: `enqueue` a task (a dotted path and plain arguments), `retrying` for
  retries with back-off;
* `flowadmin.tasks.schedules`: the recurring tasks, one line each in `SCHEDULES`;
* `flowadmin.tasks.status`: `queue_status()` (depth, oldest age, recent failures) and the page's overview;
* `flowadmin.tasks.mail`: e-mails sent by a task, with retries.

Workers run as `manage.py qcluster`; each app keeps its own tasks in its `tasks` module.
"""
