"""Many writers at once never fork or break the chain."""

import io
import threading

from django.core.management import call_command
from django.db import connection

from flowadmin.audit.chain import chain_check
from flowadmin.audit.models import AuditEvent
from flowadmin.audit.services import audit_record

THREADS = 8
EVENTS_PER_THREAD = 25


def test_concurrent_writers_keep_one_gap_free_valid_chain(transactional_db):
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for index in range(EVENTS_PER_THREAD):
                audit_record(action="sandbox.synced", sandbox=f"sandbox-{number}", detail=f"writer {number} #{index}")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = THREADS * EVENTS_PER_THREAD
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    report = chain_check(AuditEvent.objects.order_by("seq"))
    assert report.ok, report.broken
    assert report.checked == total
    for number in range(THREADS):
        assert AuditEvent.objects.filter(sandbox=f"sandbox-{number}").count() == EVENTS_PER_THREAD
    call_command("audit_verify", stdout=io.StringIO())
