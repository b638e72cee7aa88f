from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TasksConfig(AppConfig):
    name = "flowadmin.tasks"
    label = "flowadmin_tasks"
    verbose_name = "Background tasks"

    def ready(self) -> None:
        from flowadmin.tasks import signals
        from flowadmin.tasks.schedules import schedules_after_migrate

        signals.connect()
        # Every `migrate` (make run, a deploy) writes the schedules as SCHEDULES and the settings say.
        post_migrate.connect(schedules_after_migrate, dispatch_uid="flowadmin.tasks.schedules")
