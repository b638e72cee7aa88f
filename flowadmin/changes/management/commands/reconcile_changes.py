"""Settle change requests left "applying" (a killed process, a lost answer) by reading the flow spec back."""

from django.core.management.base import BaseCommand, CommandError

from flowadmin.changes.services import change_requests_reconcile


class Command(BaseCommand):
    help = (
        "Settle every change request left 'applying' for longer than FLOWADMIN_APPLY_GRACE_SECONDS: "
        "applied when the remote flow spec carries its change, failed otherwise."
    )

    def handle(self, *args, **options):
        results = change_requests_reconcile()
        if not results:
            self.stdout.write("No change request to settle.")
            return
        unsettled = 0
        for result in results:
            request = result.change_request
            if result.error:
                unsettled += 1
                self.stderr.write(f"#{request.pk} {request.sandbox}/{request.spec_id}: left applying: {result.error}")
            else:
                self.stdout.write(f"#{request.pk} {request.sandbox}/{request.spec_id}: {request.status}")
        if unsettled:
            raise CommandError(f"{unsettled} change request(s) could not be settled; run the command again later.")
