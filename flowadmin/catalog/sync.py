"""Syncing the cache with the remote API: one sandbox (`sandbox_sync`) and many at once (`sandboxes_sync`).

HTTP first, then one short transaction: no transaction is ever open across a remote call, and a
failed sync leaves the previous cache untouched (only the error is recorded on the sandbox). Every
sync is audited (`sandbox.synced` / `sandbox.sync_failed`) with its HTTP exchanges.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.catalog.cache import connection_specs_store, flow_specs_store
from flowadmin.catalog.errors import (
    ALREADY_SYNCING,
    INVALID_SANDBOX_NAME,
    UNEXPECTED_ERROR,
    UNKNOWN_SANDBOX,
    CatalogError,
)
from flowadmin.catalog.fields import SANDBOX_NAME, clean_text
from flowadmin.catalog.leases import sandbox_claim, sandbox_release
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
from flowadmin.catalog.results import SyncResult
from flowadmin.flowservice import FlowServiceError, get_client

logger = logging.getLogger("flowadmin.catalog")

STATE_ACTIVE = "active"
STATE_GONE = "gone"  # no longer listed by the Sandbox API


# --- one sandbox -------------------------------------------------------------------------------
def sandbox_sync(*, sandbox_name: str, actor=None, client=None, lease_token: str | None = None) -> SyncResult:
    """Refresh the cache of one sandbox from the remote API.

    Lists its flow specs and connection specs, then upserts the cache in one short transaction.
    ``lease_token`` is the claim of a caller that already holds the sandbox (a sync run); without
    one the sandbox is claimed here and released at the end. When another worker holds it, nothing
    is done and the result says ``busy``.
    """
    if not SANDBOX_NAME.match(sandbox_name):
        raise CatalogError(INVALID_SANDBOX_NAME)
    Sandbox.objects.get_or_create(name=sandbox_name, defaults={"title": sandbox_name})
    token = lease_token or uuid.uuid4().hex
    if lease_token is None and not sandbox_claim(sandbox_name=sandbox_name, token=token):
        return SyncResult(sandbox=sandbox_name, ok=False, busy=True, error=ALREADY_SYNCING)
    try:
        return _sync_claimed(sandbox_name=sandbox_name, actor=actor, client=client or get_client())
    finally:
        if lease_token is None:
            sandbox_release(sandbox_name=sandbox_name, token=token)


def _sync_claimed(*, sandbox_name: str, actor, client) -> SyncResult:
    exchanges: list = []
    listed_at = timezone.now()  # cached rows written after this are newer than what the listing may show
    try:
        with client.recording() as exchanges:
            flow_specs = client.list_flow_specs(sandbox_name)
            connection_specs = client.list_connection_specs(sandbox_name)
    except FlowServiceError as error:
        return _record_failure(sandbox_name=sandbox_name, actor=actor, error=error, exchanges=exchanges)
    http = [exchange.as_dict() for exchange in exchanges]
    with transaction.atomic():
        sandbox = Sandbox.objects.select_for_update().get(name=sandbox_name)
        connection_count = connection_specs_store(sandbox, connection_specs)
        result = flow_specs_store(
            sandbox, flow_specs, actor=actor, connection_specs=connection_count, listed_at=listed_at
        )
        now = timezone.now()
        Sandbox.objects.filter(pk=sandbox.pk).update(last_synced_at=now, last_sync_attempt_at=now, last_sync_error="")
        audit_record(
            action="sandbox.synced",
            actor=actor,
            sandbox=sandbox_name,
            http=http,
            detail=f"{len(flow_specs)} flow specs: {result.summary()}.",
        )
    return result


def _record_failure(*, sandbox_name: str, actor, error: FlowServiceError, exchanges: list) -> SyncResult:
    message = str(error)
    http = [exchange.as_dict() for exchange in exchanges]
    if not http and error.exchange is not None:
        http = [error.exchange.as_dict()]
    with transaction.atomic():
        Sandbox.objects.filter(name=sandbox_name).update(last_sync_attempt_at=timezone.now(), last_sync_error=message)
        audit_record(
            action="sandbox.sync_failed",
            actor=actor,
            outcome="failure",
            sandbox=sandbox_name,
            http=http,
            detail=message,
        )
    return SyncResult(sandbox=sandbox_name, ok=False, error=message)


def _record_unexpected(*, sandbox_name: str, actor) -> SyncResult:
    """Best effort after a bug or a database failure: say so on the sandbox and in the audit log."""
    try:
        with transaction.atomic():
            Sandbox.objects.filter(name=sandbox_name).update(
                last_sync_attempt_at=timezone.now(), last_sync_error=UNEXPECTED_ERROR
            )
            audit_record(
                action="sandbox.sync_failed",
                actor=actor,
                outcome="failure",
                sandbox=sandbox_name,
                detail=UNEXPECTED_ERROR,
            )
    except Exception:
        logger.exception("could not record the failed sync of sandbox %s", sandbox_name)
    return SyncResult(sandbox=sandbox_name, ok=False, error=UNEXPECTED_ERROR)


# --- many sandboxes ----------------------------------------------------------------------------
def sandboxes_discover(*, client=None) -> list[str]:
    """Names of the sandboxes to cache, upserting their `Sandbox` rows.

    ``settings.FLOWADMIN_SANDBOXES`` when set (no remote call), else the Sandbox API's active
    sandboxes. Sandboxes the API no longer lists are marked gone. Raises `FlowServiceError`.
    """
    configured = [name.strip().lower() for name in settings.FLOWADMIN_SANDBOXES if name.strip()]
    if configured:
        names = [name for name in dict.fromkeys(configured) if SANDBOX_NAME.match(name)]
        for name in names:
            Sandbox.objects.get_or_create(name=name, defaults={"title": name})
        return names
    remote = (client or get_client()).list_sandboxes(active_only=False)
    listed: dict[str, dict] = {}
    for item in remote:
        name = clean_text(item.get("name"), 255).lower()
        if SANDBOX_NAME.match(name):
            listed[name] = item
        else:
            logger.warning("sandbox name %r refused: %s", name, INVALID_SANDBOX_NAME)
    with transaction.atomic():
        for name, item in listed.items():
            Sandbox.objects.update_or_create(
                name=name,
                defaults={
                    "title": clean_text(item.get("title"), 255),
                    "type": clean_text(item.get("type"), 32).lower(),
                    "state": clean_text(item.get("state"), 32).lower(),
                    "region": clean_text(item.get("region"), 32),
                    "is_default": item.get("isDefault") is True,
                },
            )
        Sandbox.objects.exclude(name__in=list(listed)).update(state=STATE_GONE)
    return sorted(name for name, item in listed.items() if clean_text(item.get("state"), 32).lower() == STATE_ACTIVE)


def _resolve_names(names: Iterable[str] | None, client) -> tuple[list[str], list[str]]:
    """(names to sync, names refused as unknown)."""
    if names is None:
        return sandboxes_discover(client=client), []
    wanted = list(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    known = set(Sandbox.objects.filter(name__in=wanted).values_list("name", flat=True))
    if set(wanted) - known:
        known |= set(sandboxes_discover(client=client))
    return [name for name in wanted if name in known], [name for name in wanted if name not in known]


def sandboxes_sync(
    *,
    names: Iterable[str] | None = None,
    actor=None,
    client=None,
    run: SyncRun | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
) -> list[SyncResult]:
    """Sync several sandboxes at once (``settings.FLOWADMIN_SYNC_CONCURRENCY`` threads at most).

    ``names`` None means every sandbox to cache (`sandboxes_discover`). With a ``run``, its
    per-sandbox rows follow the progress. Results come back in name order; ``on_result`` is called
    as each sandbox finishes. Raises `FlowServiceError` when the sandboxes cannot be listed.
    """
    client = client or get_client()
    targets, unknown = _resolve_names(names, client)
    token = run.token if run is not None else uuid.uuid4().hex
    results: dict[str, SyncResult] = {}
    for name in unknown:
        results[name] = SyncResult(sandbox=name, ok=False, error=UNKNOWN_SANDBOX)
        _item_finish(run, results[name], on_result)
    claimed = []
    for name in targets:
        if run is not None:
            SyncRunSandbox.objects.get_or_create(run=run, sandbox_name=name)
        if sandbox_claim(sandbox_name=name, token=token, run=run):
            claimed.append(name)
        else:
            results[name] = SyncResult(sandbox=name, ok=False, busy=True, error=ALREADY_SYNCING)
            _item_finish(run, results[name], on_result)

    def one(name: str) -> SyncResult:
        try:
            _item_start(run, name)
            try:
                result = sandbox_sync(sandbox_name=name, actor=actor, client=client, lease_token=token)
            except Exception:
                logger.exception("sync of sandbox %s failed", name)
                result = _record_unexpected(sandbox_name=name, actor=actor)
            _item_finish(run, result, on_result)
            return result
        finally:
            sandbox_release(sandbox_name=name, token=token)

    workers = max(1, min(settings.FLOWADMIN_SYNC_CONCURRENCY, len(claimed)))
    if workers == 1 or connection.in_atomic_block:
        # In the caller's thread and database connection (inside a transaction, other connections
        # could not see its rows: threads would only wait for its locks).
        for name in claimed:
            results[name] = one(name)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowadmin-sync") as pool:
            for result in pool.map(in_own_connection(one), claimed):
                results[result.sandbox] = result
    return [results[name] for name in sorted(results)]


def in_own_connection(function: Callable) -> Callable:
    """Run ``function`` in a worker thread and close that thread's database connection afterwards."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return wrapper


def _item_start(run: SyncRun | None, name: str) -> None:
    if run is None:
        return
    now = timezone.now()
    SyncRunSandbox.objects.filter(run=run, sandbox_name=name).update(state=SyncRunSandbox.State.RUNNING, started_at=now)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now)


def _item_finish(run: SyncRun | None, result: SyncResult, on_result) -> None:
    if run is not None:
        now = timezone.now()
        if result.ok:
            state = SyncRunSandbox.State.SUCCEEDED
        elif result.busy:
            state = SyncRunSandbox.State.SKIPPED
        else:
            state = SyncRunSandbox.State.FAILED
        SyncRunSandbox.objects.update_or_create(
            run=run,
            sandbox_name=result.sandbox,
            defaults={
                "state": state,
                "error": result.error,
                "new": result.new,
                "changed": result.changed,
                "unchanged": result.unchanged,
                "vanished": result.vanished,
                "finished_at": now,
            },
        )
        SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now)
    if on_result is not None:
        on_result(result)
