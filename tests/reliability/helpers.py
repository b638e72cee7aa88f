"""What the reliability and security tests share: ids of the seed, settings for quick retries, waits, snapshots."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Callable

from django.core.management import call_command

from flowadmin import documents
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec, SyncRun
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import close_clients
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID

STREAMING_ID = GENERIC_STREAMING_ID  # GenericStreamingAEP
REST_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"  # RestStorageToAEP
CRM_ID = "14518937-270c-4525-bdec-c2ba7cce3860"  # CRMToAEP
ACME_EVENTS = "bdb5b792-451b-42de-acf8-15f3195821de"  # no flow spec lists these four yet
ACME_LOYALTY = "87d513a3-b4d2-4df7-8ec9-55957c02e0b1"
ZOHO_CRM = "04e0fcbb-195e-4cfb-9aca-741d3b84f761"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
WAIT_SECONDS = 60  # a ceiling for waits on a loaded 2-core machine; they end as soon as the condition holds
THREADS_GONE_SECONDS = 10  # a call the emulator delays ends within this; the wait is best effort


def quick_retries(settings, *, read_timeout: float = 30.0) -> None:
    """Retries and back-off small enough that a fault costs milliseconds, not seconds."""
    settings.FLOWSERVICE_MAX_RETRIES = 2
    settings.FLOWSERVICE_BACKOFF = 0.001
    settings.FLOWSERVICE_BACKOFF_MAX = 0.01
    settings.FLOWSERVICE_READ_TIMEOUT = read_timeout


def spec_path(spec_id: str) -> str:
    return f"{FLOW_SPECS}/{spec_id}"


def puts(emulator, spec_id: str | None = None) -> list[dict]:
    return emulator.log(method="PUT", path=spec_path(spec_id) if spec_id else f"{FLOW_SPECS}/*")


def remote_ids(emulator, spec_id: str, sandbox: str = "dev") -> list[str]:
    return documents.source_ids(emulator.document(sandbox, spec_id))


def story(change_request) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(change_request_id=change_request.pk).order_by("seq").values_list("action", "outcome")
    )


def wait_until(condition: Callable[[], bool], *, what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def wait_for_sync_runs() -> None:
    wait_until(lambda: not SyncRun.objects.filter(finished_at__isnull=True).exists(), what="the sync runs to finish")


def audit_verify() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def snapshot(emulator) -> dict:
    """What a refused action must leave as it was: the product's rows, the audit log and the emulator."""
    return {
        "change_requests": list(ChangeRequest.objects.order_by("pk").values()),
        "flow_specs": list(FlowSpec.objects.order_by("pk").values("pk", "content_hash", "document")),
        "audit": list(AuditEvent.objects.order_by("seq").values_list("seq", "hash")),
        "remote": {spec_id: emulator.document("dev", spec_id) for spec_id in (STREAMING_ID, REST_ID)},
        "emulator_puts": emulator.log(method="PUT"),
    }


def request_threads() -> set[int]:
    """The live server's request threads alive now (their idents)."""
    return {thread.ident for thread in threading.enumerate() if "process_request_thread" in thread.name}


IDLE_GRACE_SECONDS = 1.0  # a request thread still there after this waits for a next request that never comes


def close_connections(emulator, before: set[int] | None = None) -> None:
    """Close the HTTP connections to the live server and wait until the request threads the test
    started have ended (``before``: those alive when it began, from `request_threads`; not waited for).

    Each of those threads holds a database connection until its client goes away; one still open
    when the run ends keeps PostgreSQL from dropping the test database. A thread another test left
    behind is not this test's to wait for. Clearing the fault rules ends the delays still running.
    A connection whose client gave up on an answer (a timeout, a dropped call) can stay open at the
    server, its thread waiting for a next request: after a short grace the server side of this test's
    remaining connections is shut, which ends those threads at once.
    """
    emulator.clear_faults()
    close_clients()
    emulator.session.close()
    ignore = before or set()
    started = time.monotonic()
    deadline = started + THREADS_GONE_SECONDS
    shut = False
    while time.monotonic() < deadline:
        remaining = request_threads() - ignore
        if not remaining:
            return
        if not shut and time.monotonic() - started > IDLE_GRACE_SECONDS:
            _shut_server_side(remaining)
            shut = True
        time.sleep(0.05)


def _shut_server_side(idents: set[int]) -> None:
    """Shut the sockets that the live server's request threads ``idents`` serve (`process_request_thread`'s
    first argument), so that a thread blocked reading a next request ends."""
    for thread in threading.enumerate():
        if thread.ident not in idents:
            continue
        sock = (getattr(thread, "_args", None) or (None,))[0]
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)
