"""Sync the cache of flow specs with the Flow Service, printing a line per sandbox as it finishes."""

import threading

from django.core.management.base import BaseCommand, CommandError

from flowadmin.catalog.services import SyncResult, sync_run_start

ALREADY_RUNNING = "Another sync of these sandboxes is running (sync run {pk}); nothing was done."
SOME_FAILED = "{failed} of {total} sandbox(es) failed."


class Command(BaseCommand):
    help = "Sync the cached flow specs of every sandbox (or one) with the Flow Service; exits 1 if any failed."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox", metavar="NAME", help="sync only this sandbox")

    def handle(self, *args, sandbox: str | None, **options):
        results: list[SyncResult] = []
        lock = threading.Lock()

        def report(result: SyncResult) -> None:
            with lock:
                results.append(result)
                if result.ok:
                    self.stdout.write(f"{result.sandbox}: {self.style.SUCCESS('ok')} ({result.summary()})")
                else:
                    self.stdout.write(f"{result.sandbox}: {self.style.ERROR('failed')} ({result.error})")

        started = sync_run_start(sandbox_name=sandbox, background=False, on_result=report)
        if not started.created:
            raise CommandError(ALREADY_RUNNING.format(pk=started.run.pk))
        if started.run.error:
            raise CommandError(started.run.error)
        failed = sum(1 for result in results if not result.ok)
        self.stdout.write(f"{len(results)} sandbox(es): {len(results) - failed} ok, {failed} failed.")
        if failed:
            raise CommandError(SOME_FAILED.format(failed=failed, total=len(results)))
