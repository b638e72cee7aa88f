"""Export the cached flow specs as files, one pretty JSON document per sandbox and spec."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from flowadmin.catalog.exports import ExportError, flowspecs_export


class Command(BaseCommand):
    help = "Write the cached flow specs to DIR/<sandbox>/<spec name>.json (sorted keys, stable order)."

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", type=Path)
        parser.add_argument("--sandbox", metavar="NAME", help="export only this sandbox")

    def handle(self, *args, directory: Path, sandbox: str | None, **options):
        try:
            written = flowspecs_export(directory=directory, sandbox=sandbox)
        except (ExportError, OSError) as error:
            raise CommandError(str(error)) from error
        root = directory.resolve()
        for item in written:
            self.stdout.write(str(item.path.relative_to(root)))
        sandboxes = len({item.sandbox for item in written})
        self.stdout.write(
            self.style.SUCCESS(f"Exported {len(written)} flow spec(s) of {sandboxes} sandbox(es) to {root}.")
        )
