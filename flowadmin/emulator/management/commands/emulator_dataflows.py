from django.core.management.base import BaseCommand, CommandError

from flowadmin.emulator import selectors
from flowadmin.emulator.dataflows_seed import SeedError, flows_generate


class Command(BaseCommand):
    help = (
        "Add many made-up dataflows to one sandbox of the emulator, each with its own source connection "
        "(for tests and the bench): round the sandbox's flow specs and their source connection specs, "
        "one in five disabled, most with a last run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sandbox", required=True, help="an active sandbox of the emulator, e.g. dev")
        parser.add_argument("--count", type=int, default=1000, help="how many dataflows to add (default 1000)")
        parser.add_argument(
            "--flow-spec",
            action="append",
            dest="flow_specs",
            metavar="ID",
            help="only this flow spec (repeatable; default: every flow spec of the sandbox)",
        )

    def handle(self, *args, sandbox, count, flow_specs=None, **options):
        if count < 1:
            raise CommandError("--count must be at least 1.")
        found = selectors.sandbox_get(name=sandbox)
        if found is None or not found.is_active:
            raise CommandError(f"The emulator has no active sandbox '{sandbox}' (run seed_demo first).")
        try:
            ids = flows_generate(sandbox=found, count=count, flow_spec_ids=flow_specs)
        except SeedError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Added {len(ids)} dataflows and {len(ids)} source connections to sandbox '{found.name}'.")
