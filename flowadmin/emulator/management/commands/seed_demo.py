from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flowadmin.accounts.demo import DEMO_REFUSED, demo_users_allowed, demo_users_create


class Command(BaseCommand):
    help = "Seed the embedded emulator from specs/ and create the demo users (emulator and DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help="demo users' password (default: DEMO_PASSWORD or flowadmin-demo)")

    def handle(self, *args, password=None, **options):
        if not demo_users_allowed():
            raise CommandError(DEMO_REFUSED)
        password = password or getattr(settings, "DEMO_PASSWORD", "flowadmin-demo")
        usernames = demo_users_create(password=password)
        self.stdout.write(self.style.SUCCESS("Demo users ready (password: %s): %s" % (password, ", ".join(usernames))))
