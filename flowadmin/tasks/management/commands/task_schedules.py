"""Write the recurring tasks (flowadmin.tasks.schedules.SCHEDULES) into django-q2's schedules."""

from django.core.management.base import BaseCommand

from flowadmin.tasks.schedules import PREFIX, schedules_apply


class Command(BaseCommand):
    help = (
        "Create, update or remove flowadmin's recurring tasks to match the code and the settings "
        "(FLOWADMIN_SYNC_SCHEDULE_MINUTES, ...). migrate does the same."
    )

    def handle(self, *args, **options):
        done = schedules_apply()
        for line in done:
            self.stdout.write(line)
        if not done:
            self.stdout.write(f"The {PREFIX}* schedules are up to date.")
