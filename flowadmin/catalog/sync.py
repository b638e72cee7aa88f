"""Syncing the cache with the remote API: one sandbox (`sandbox_sync`) and many at once (`sandboxes_sync`).

HTTP first, then one short transaction: no transaction is ever open across a remote call, and a
failed sync leaves the previous cache untouched (only the error is recorded on the sandbox).

Audit: a sync that changed the cache is recorded as `sandbox.synced` with its HTTP exchanges, a
failed one as `sandbox.sync_failed`; a sync that found nothing changed records nothing (a sandbox's
"last synced" says it ran), so syncing 200 sandboxes every 15 minutes does not flood the log. A
sync run adds one summary event of its own (`flowadmin.catalog.runs`).
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.catalog.errors import (
    ALREADY_SYNCING,
    INVALID_SANDBOX_NAME,
    UNEXPECTED_ERROR,
    UNKNOWN_SANDBOX,
    CatalogError,
)
from flowadmin.catalog.leases import RELEASED, sandbox_claim, sandbox_release, sandboxes_claim
from flowadmin.catalog.listing import RetryNotes, listings_ahead, remote_list
from flowadmin.catalog.models import Sandbox, SyncRun
from flowadmin.catalog.progress import Progress
from flowadmin.catalog.remote_fields import SANDBOX_NAME, clean_text, connection_spec_columns, flow_spec_columns
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.sync_writes import GroupCommit, Listed, listings_store, writing
from flowadmin.flowservice import FlowServiceError, get_client, retries_reported

logger = logging.getLogger("flowadmin.catalog")

STATE_ACTIVE = "active"
STATE_GONE = "gone"  # no longer listed by the Sandbox API
DISCOVERED_FIELDS = ["title", "type", "state", "region", "is_default"]  # what the Sandbox API says of a sandbox
LISTERS_PER_SLOT = 1.5  # threads of a many-sandbox sync per request slot (`sandboxes_sync`)


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
    if lease_token is not None:  # claimed, so its row exists
        sandbox = Sandbox.objects.only("pk", "name").get(name=sandbox_name)
        return _sync_claimed(sandbox=sandbox, actor=actor, client=client or get_client())
    sandbox, _ = Sandbox.objects.get_or_create(name=sandbox_name, defaults={"title": sandbox_name})
    if not sandbox.type:
        _learn_types([sandbox_name], client=client)
    token = uuid.uuid4().hex
    if not sandbox_claim(sandbox_name=sandbox_name, token=token):
        return SyncResult(sandbox=sandbox_name, ok=False, busy=True, error=ALREADY_SYNCING)
    released = False
    try:
        result = _sync_claimed(sandbox=sandbox, actor=actor, client=client or get_client(), release=token)
        released = True
        return result
    finally:
        if not released:
            sandbox_release(sandbox_name=sandbox_name, token=token)


def _sync_claimed(*, sandbox: Sandbox, actor, client, release: str | None = None) -> SyncResult:
    """List the sandbox, then store the listing, record the outcome and audit it in one transaction.

    ``release``: the lease token to give back in that transaction (nothing is given back when it
    raises).
    """
    side_by_side = _slots_to_spare(1, settings.FLOWADMIN_SYNC_CONCURRENCY)
    listed = _list(sandbox=sandbox, actor=actor, client=client, release=release, side_by_side=side_by_side)
    if isinstance(listed, SyncResult):
        return listed
    return listings_store([listed], actor=actor)[0]


def _list(
    *,
    sandbox: Sandbox,
    actor,
    client,
    release: str | None,
    side_by_side: bool = False,
    ahead: Future | None = None,
    slot: AbstractContextManager | None = None,
) -> Listed | SyncResult:
    """The sandbox's listings read into cache columns, ready to store; or the failure, recorded.

    ``side_by_side``: its two catalogues listed at once (`listing.remote_list`); ``ahead``: listed
    already (`listing.listings_ahead`), its answer taken from there; ``slot``: held while listing
    (a request slot of the sync), given back before the answer is read into columns.
    """
    with slot or nullcontext():
        remote = ahead.result() if ahead is not None else remote_list(client, sandbox.name, side_by_side=side_by_side)
    if remote.error is not None:
        return _record_failure(
            sandbox=sandbox, actor=actor, error=remote.error, exchanges=remote.exchanges, release=release
        )
    # Read into cache columns before the transaction, which then holds its locks only to write.
    return Listed(
        sandbox=sandbox,
        flow_columns=flow_spec_columns(remote.flow_specs, sandbox_name=sandbox.name),
        connection_columns=connection_spec_columns(remote.connection_specs),
        http=[exchange.as_dict() for exchange in remote.exchanges],
        listed_at=remote.listed_at,
        flow_specs_listed=len(remote.flow_specs),
        release=release,
    )


def _slots_to_spare(sandboxes: int, slots: int) -> bool:
    """Whether ``sandboxes`` synced at once, each listing its two catalogues side by side, stay within
    ``slots`` requests at once (`FLOWADMIN_SYNC_CONCURRENCY`, or a part's share of it)."""
    return slots >= 2 and 2 * sandboxes <= slots


def _record_outcome(sandbox: Sandbox, release: str | None, **fields) -> None:
    """Write ``fields`` on the sandbox's row, giving the lease of ``release`` back in the same update."""
    row = Sandbox.objects.filter(pk=sandbox.pk)
    if release is None or not row.filter(sync_lease_token=release).update(**fields, **RELEASED):
        row.update(**fields)


def _record_failure(
    *, sandbox: Sandbox, actor, error: FlowServiceError, exchanges: list, release: str | None = None
) -> SyncResult:
    message = str(error)
    http = [exchange.as_dict() for exchange in exchanges]
    if not http and error.exchange is not None:
        http = [error.exchange.as_dict()]
    with writing(), transaction.atomic():
        _record_outcome(sandbox, release, last_sync_attempt_at=timezone.now(), last_sync_error=message)
        audit_record(
            action="sandbox.sync_failed",
            actor=actor,
            outcome="failure",
            sandbox=sandbox.name,
            http=http,
            detail=message,
        )
    return SyncResult(sandbox=sandbox.name, ok=False, error=message)


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
def _learn_types(names: list[str], *, client=None) -> None:
    """Sandboxes whose type the cache does not know yet (synced on their own, or named by
    ``FLOWADMIN_SANDBOXES``) learn it, and their title, from the Sandbox API: their tier, and so the
    approvals their changes need, follow from it. When the API cannot be read they count as production."""
    unknown = set(Sandbox.objects.filter(name__in=names, type="").values_list("name", flat=True))
    if not unknown:
        return
    try:
        listed = (client or get_client()).list_sandboxes(active_only=False)
    except FlowServiceError as error:
        logger.warning("the type of sandboxes %s could not be read (%s)", ", ".join(sorted(unknown)), error)
        return
    for item in listed:
        name = clean_text(item.get("name"), 255).lower()
        if name in unknown:
            Sandbox.objects.filter(name=name, type="").update(
                type=clean_text(item.get("type"), 32).lower(),
                title=clean_text(item.get("title"), 255) or name,
                region=clean_text(item.get("region"), 32),
            )


def sandboxes_discover(*, client=None) -> list[str]:
    """Names of the sandboxes to cache, upserting their `Sandbox` rows.

    ``settings.FLOWADMIN_SANDBOXES`` when set (the Sandbox API is read only for the types it does not
    know yet), else the Sandbox API's active sandboxes. Sandboxes the API no longer lists are marked
    gone. Raises `FlowServiceError`.
    """
    configured = [name.strip().lower() for name in settings.FLOWADMIN_SANDBOXES if name.strip()]
    if configured:
        names = [name for name in dict.fromkeys(configured) if SANDBOX_NAME.match(name)]
        known = set(Sandbox.objects.filter(name__in=names).values_list("name", flat=True))
        Sandbox.objects.bulk_create(
            [Sandbox(name=name, title=name) for name in names if name not in known], ignore_conflicts=True
        )
        _learn_types(names, client=client)
        return names
    remote = (client or get_client()).list_sandboxes(active_only=False)
    listed: dict[str, dict] = {}
    for item in remote:
        name = clean_text(item.get("name"), 255).lower()
        if SANDBOX_NAME.match(name):
            listed[name] = {
                "title": clean_text(item.get("title"), 255),
                "type": clean_text(item.get("type"), 32).lower(),
                "state": clean_text(item.get("state"), 32).lower(),
                "region": clean_text(item.get("region"), 32),
                "is_default": item.get("isDefault") is True,
            }
        else:
            logger.warning("sandbox name %r refused: %s", name, INVALID_SANDBOX_NAME)
    with transaction.atomic():
        cached = {row.name: row for row in Sandbox.objects.only("pk", "name", *DISCOVERED_FIELDS)}
        created, changed = [], []
        for name, fields in listed.items():
            row = cached.get(name)
            if row is None:
                created.append(Sandbox(name=name, **fields))
            elif any(getattr(row, field) != value for field, value in fields.items()):
                for field, value in fields.items():
                    setattr(row, field, value)
                changed.append(row)
        # A row another worker has just created meanwhile is left as it wrote it (from the same listing).
        Sandbox.objects.bulk_create(created, batch_size=500, ignore_conflicts=True)
        Sandbox.objects.bulk_update(changed, DISCOVERED_FIELDS, batch_size=500)
        gone = [row.pk for name, row in cached.items() if name not in listed and row.state != STATE_GONE]
        if gone:
            Sandbox.objects.filter(pk__in=gone).update(state=STATE_GONE)
    return sorted(name for name, fields in listed.items() if fields["state"] == STATE_ACTIVE)


def sandboxes_resolve(names: Iterable[str] | None, client) -> tuple[list[str], list[str]]:
    """(names to sync, names refused as unknown); ``names`` None: every sandbox to cache (`sandboxes_discover`)."""
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
    concurrency: int | None = None,
) -> list[SyncResult]:
    """Sync several sandboxes at once (``concurrency`` remote requests at a time at most, by default
    ``settings.FLOWADMIN_SYNC_CONCURRENCY``; 1: one sandbox after another).

    ``names`` None means every sandbox to cache (`sandboxes_discover`). With a ``run``, its
    per-sandbox rows follow the progress. Results come back in name order; ``on_result`` is called
    as each sandbox finishes. Raises `FlowServiceError` when the sandboxes cannot be listed.

    The threads list their sandboxes over HTTP and hand the listings to a `GroupCommit`: the listings
    waiting are stored together, with their progress rows, in one transaction.
    """
    client = client or get_client()
    slots = concurrency or settings.FLOWADMIN_SYNC_CONCURRENCY
    # Named sandboxes the cache has never seen are listed while the Sandbox API is asked about them.
    notes = RetryNotes()
    with listings_ahead(names, client, slots=slots, notes=notes) as ahead:
        targets, unknown = sandboxes_resolve(names, client)
        token = run.token if run is not None else uuid.uuid4().hex
        progress = Progress(run, on_result)
        results: dict[str, SyncResult] = {}
        for name in unknown:
            results[name] = SyncResult(sandbox=name, ok=False, error=UNKNOWN_SANDBOX)
            progress.finish(results[name])
        progress.add(targets)
        notes.show_with(progress.note)
        claimed = sandboxes_claim(names=targets, token=token, run=run)
        for name in targets:
            if name not in claimed:
                results[name] = SyncResult(sandbox=name, ok=False, busy=True, error=ALREADY_SYNCING)
                progress.finish(results[name])

        writes = GroupCommit(actor=actor, on_stored=progress.record)

        def one(name: str) -> SyncResult:
            released = False
            try:
                progress.start(name)
                try:
                    sandbox = Sandbox(pk=claimed[name], name=name)
                    with retries_reported(lambda notice: progress.note(name, notice.text)):
                        listed = _list(
                            sandbox=sandbox,
                            actor=actor,
                            client=client,
                            release=token,
                            side_by_side=spare,
                            ahead=ahead.pop(name, None),
                            slot=request_slots,
                        )
                    if isinstance(listed, SyncResult):  # failed, recorded
                        result = listed
                        progress.record([result])
                    else:
                        result = writes.store(listed)  # its progress row written with it
                    released = True
                except Exception:
                    logger.exception("sync of sandbox %s failed", name)
                    result = _record_unexpected(sandbox_name=name, actor=actor)
                    progress.record([result])
                progress.notify(result)
                return result
            finally:
                if not released:
                    sandbox_release(sandbox_name=name, token=token)

        pending = [name for name in targets if name in claimed]
        spare = _slots_to_spare(len(pending), slots)
        if spare or slots < 2:  # a thread per sandbox, each listing its two catalogues side by side; or one
            workers, request_slots = max(1, min(slots, len(pending))), None
        else:
            # More threads than request slots, which they take turns at: while some read what they
            # listed into columns or wait to write it, the others keep every slot listing.
            workers = max(1, min(len(pending), math.ceil(slots * LISTERS_PER_SLOT)))
            request_slots = threading.BoundedSemaphore(slots)
        if workers == 1 or connection.in_atomic_block:
            # In the caller's thread and database connection (inside a transaction, other connections
            # could not see its rows: threads would only wait for its locks).
            for name in pending:
                results[name] = one(name)
        else:
            queue = iter(pending)
            lock = threading.Lock()

            def worker() -> None:
                # One database connection per worker, kept from one sandbox to the next.
                while True:
                    with lock:
                        name = next(queue, None)
                    if name is None:
                        return
                    results[name] = one(name)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowadmin-sync") as pool:
                for future in [pool.submit(in_own_connection(worker)) for _ in range(workers)]:
                    future.result()
        return [results[name] for name in sorted(results)]


def in_own_connection(function: Callable) -> Callable:
    """Run ``function`` in a worker thread and close that thread's database connection afterwards."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return wrapper
