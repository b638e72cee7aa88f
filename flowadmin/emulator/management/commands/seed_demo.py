from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flowadmin.accounts.demo import DEMO_REFUSED, demo_users_allowed, demo_users_create
from flowadmin.emulator.seed import seed_emulator


class Command(BaseCommand):
    help = "Seed the embedded emulator from specs/ and create the demo users (emulator and DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default=None, help="demo users' password (default: DEMO_PASSWORD or flowadmin-demo)"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="reload the emulator from specs/, dropping changes, fault rules and the request log "
            "(default: only add what is missing)",
        )

    def handle(self, *args, password=None, reset=False, **options):
        if not demo_users_allowed():
            raise CommandError(DEMO_REFUSED)
        summary = seed_emulator(reset=reset)
        self.stdout.write(
            self.style.SUCCESS(
                f"Emulator seeded from specs/ ({'reset' if reset else 'kept existing data'}): added "
                f"{summary.sandboxes} sandboxes, {summary.flow_specs} flow specs, "
                f"{summary.connection_specs} connection specs, {summary.flows} dataflows, "
                f"{summary.source_connections} source connections"
            )
        )
        password = password or getattr(settings, "DEMO_PASSWORD", "flowadmin-demo")
        usernames = demo_users_create(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo users ready (password: {password}): {', '.join(usernames)}"))
