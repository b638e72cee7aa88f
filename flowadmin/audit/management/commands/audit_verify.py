"""Walk the audit chain in seq order, recompute every hash, report the first broken link."""

from contextlib import closing

from django.core.management.base import BaseCommand, CommandError

from flowadmin.audit.chain import chain_check
from flowadmin.audit.models import AuditEvent

CHAIN_BROKEN = "Audit chain broken at {description}. {checked} event(s) before it verified."


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero at the first broken link or gap."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000, help="rows fetched per round trip")

    def handle(self, *args, chunk_size: int, **options):
        with closing(AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size)) as events:
            report = chain_check(events)
        self.stdout.write(f"Checked {report.checked} audit event(s).")
        if not report.ok:
            raise CommandError(CHAIN_BROKEN.format(description=report.broken.describe(), checked=report.checked))
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: seq 1..{report.head_seq}, head hash {report.head_hash}.")
        )
