"""Write a signed checkpoint of the audit log if anything was recorded since the last one (run it every 5 minutes)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from flowadmin.audit.checkpoints import NO_KEY, CheckpointError, checkpoint_if_new
from flowadmin.audit.keys import signing_key


class Command(BaseCommand):
    help = "Write a signed checkpoint of the audit log when events were recorded since the last one."

    def handle(self, *args, **options):
        try:
            if signing_key() is None:
                raise CommandError(NO_KEY)
            checkpoint = checkpoint_if_new()
        except (CheckpointError, ImproperlyConfigured, OSError) as error:
            raise CommandError(str(error)) from None
        if checkpoint is None:
            self.stdout.write("Nothing recorded since the last checkpoint: none written.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint #{checkpoint.number} written: events #1..#{checkpoint.last_seq}, "
                f"head hash {checkpoint.head_hash}, key id {checkpoint.key_id}."
            )
        )
