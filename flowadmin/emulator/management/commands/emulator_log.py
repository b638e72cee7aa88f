import json

from django.core.management.base import BaseCommand

from flowadmin.emulator import selectors, services


class Command(BaseCommand):
    help = "Show the emulator's request log, oldest first (filters: --method, --sandbox, --path glob), or --clear it."

    def add_arguments(self, parser):
        parser.add_argument("--method", help="only calls with this HTTP method")
        parser.add_argument("--sandbox", help="only calls to this sandbox")
        parser.add_argument("--path", help="only calls whose path (after /emulator) matches this glob")
        parser.add_argument("--json", dest="as_json", action="store_true", help="one JSON object a line")
        parser.add_argument("--clear", action="store_true", help="empty the log")

    def handle(self, *args, method=None, sandbox=None, path=None, as_json=False, clear=False, **options):
        if clear:
            self.stdout.write(f"Removed {services.request_log_clear()} log entries.")
            return
        for entry in selectors.request_log_list(method=method, sandbox=sandbox, path=path):
            row = entry.as_api()
            if as_json:
                self.stdout.write(json.dumps(row))
                continue
            status = "-" if row["status"] is None else row["status"]
            fault = f"  [fault: {row['fault']}]" if row["fault"] else ""
            sandbox_name = row["sandbox"] or "-"
            self.stdout.write(f"{row['at']}  {row['method']:<6} {status:>3}  {sandbox_name:<8} {row['path']}{fault}")
