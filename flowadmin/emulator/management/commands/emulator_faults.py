import json

from django.core.management.base import BaseCommand, CommandError

from flowadmin.emulator import selectors, services


class Command(BaseCommand):
    help = (
        "Manage the emulator's fault rules: `add '<JSON rule>'`, `list`, `clear`. A rule is like "
        '{"method": "PUT", "path": "/data/foundation/flowservice/flowSpecs/*", "action": "respond", '
        '"status": 503, "times": 1} (see /emulator/_faults).'
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["add", "list", "clear"])
        parser.add_argument("rule", nargs="?", help="the rule as a JSON object (for `add`)")

    def handle(self, *args, operation, rule=None, **options):
        if operation == "clear":
            self.stdout.write(f"Removed {services.fault_rules_clear()} fault rule(s).")
            return
        if operation == "list":
            for fault in selectors.fault_rule_list():
                self.stdout.write(json.dumps(fault.as_api()))
            return
        if not rule:
            raise CommandError("`add` needs the rule as a JSON object.")
        try:
            parsed = json.loads(rule)
        except json.JSONDecodeError as error:
            raise CommandError(f"The rule is not valid JSON: {error}.") from None
        try:
            added = services.fault_rule_add(rule=parsed)
        except services.FaultRuleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(added.as_api()))
