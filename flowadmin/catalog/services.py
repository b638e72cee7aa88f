"""Writes of the catalog: syncing the cache of flow specs and connection specs with the remote API.

Rules kept here:

* HTTP first, then one short transaction: no transaction is ever open across a remote call, and a
  failed sync leaves the previous cache untouched (only the error is recorded on the sandbox).
* A sandbox is synced by one worker at a time: a sync claims it with a conditional update of its
  lease, and an expired lease (a crashed process) is free again.
* Every sync is audited (`sandbox.synced` / `sandbox.sync_failed`), and so is every change of a
  cached document that did not come from flowadmin itself (`flowspec.changed_remotely`).
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flowadmin.audit.services import audit_record
from flowadmin.catalog.models import (
    ConnectionSpec,
    FlowSpec,
    FlowSpecSource,
    FlowSpecVersion,
    Sandbox,
    SyncRun,
    SyncRunSandbox,
)
from flowadmin.flowservice import FlowServiceError, documents, get_client

logger = logging.getLogger("flowadmin.catalog")

ALREADY_SYNCING = "This sandbox is already being synced; its current sync was left to finish."
UNKNOWN_SANDBOX = "No sandbox of that name is known to the Sandbox API or to FLOWADMIN_SANDBOXES."
INVALID_SANDBOX_NAME = "Not a valid sandbox name (lower-case letters, digits, '-' and '_')."
DISCOVERY_FAILED = "Could not list the sandboxes"
NOT_LISTED = "Not synced: no longer listed as an active sandbox."
UNEXPECTED_ERROR = "The sync failed unexpectedly; see the server log."
DOCUMENT_WITHOUT_ID = "The remote document has no usable id."

# Adobe's sandbox names are lower-case letters, digits and dashes; anything else is refused, so a
# hostile name can neither break a URL nor a file path.
SANDBOX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,254}$")
# Remote ids are UUIDs; an id outside this set could not be part of a URL or a file name.
SPEC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
STATE_ACTIVE = "active"
STATE_GONE = "gone"  # no longer listed by the Sandbox API


class CatalogError(Exception):
    """A catalog operation could not be done; the message is one of this module's constants."""


@dataclass(frozen=True)
class SyncResult:
    """What one sandbox's sync did. ``busy``: another worker was syncing it, nothing was done."""

    sandbox: str
    ok: bool
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    vanished: int = 0
    reappeared: int = 0
    connection_specs: int = 0
    changed_remotely: int = 0
    error: str = ""
    busy: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "vanished": self.vanished,
            "reappeared": self.reappeared,
        }

    def summary(self) -> str:
        if not self.ok:
            return self.error
        text = f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.vanished} vanished"
        if self.reappeared:
            text += f", {self.reappeared} back again"
        return f"{text}; {self.connection_specs} connection specs"


@dataclass(frozen=True)
class SyncRunStart:
    """The run that `sync_run_start` started, or (``created`` False) the one already syncing."""

    run: SyncRun
    created: bool
    thread: threading.Thread | None = None


# --- leases ------------------------------------------------------------------------------------
def _lease_seconds() -> int:
    return settings.FLOWADMIN_SYNC_LEASE_SECONDS


def sandbox_claim(*, sandbox_name: str, token: str, run: SyncRun | None = None) -> bool:
    """Claim ``sandbox_name`` for the holder of ``token``: True when free, expired or already its own."""
    now = timezone.now()
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now) | Q(sync_lease_token=token)
    claimed = Sandbox.objects.filter(free, name=sandbox_name).update(
        sync_lease_until=now + timedelta(seconds=_lease_seconds()), sync_lease_token=token, sync_run=run
    )
    return claimed == 1


def sandbox_release(*, sandbox_name: str, token: str) -> None:
    """Give the claim back, if ``token`` still holds it (an expired one may have passed on)."""
    Sandbox.objects.filter(name=sandbox_name, sync_lease_token=token).update(
        sync_lease_until=None, sync_lease_token="", sync_run=None
    )


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
        connection_count = _store_connection_specs(sandbox, connection_specs)
        result = _store_flow_specs(
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


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:limit]


def _remote_time(value: Any) -> datetime | None:
    """``updatedAt`` as Adobe sends it (epoch milliseconds), or an ISO 8601 string; None if unreadable."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            return None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed
    return None


def _ids(value: Any) -> list[str]:
    """Connection spec ids of a document field, normalised (trimmed, lower case), unique, in order."""
    if not isinstance(value, list):
        return []
    seen: dict[str, None] = {}
    for item in value:
        if isinstance(item, str) and item.strip():
            seen.setdefault(item.strip().lower()[:64], None)
    return list(seen)


CACHE_FIELDS = (
    "name",
    "provider_id",
    "version",
    "frequency",
    "source_count",
    "document",
    "content_hash",
    "remote_updated_at",
)


def _fields(document: dict) -> dict[str, Any]:
    """The cache columns a flow spec document fills."""
    attributes = document.get("attributes") if isinstance(document.get("attributes"), dict) else {}
    return {
        "name": _text(document.get("name"), 255),
        "provider_id": _text(document.get("providerId"), 64),
        "version": _text(document.get("version"), 64),
        "frequency": _text(attributes.get("frequency"), 32),
        "source_count": len(_ids(document.get("sourceConnectionSpecIds"))),
        "document": document,
        "content_hash": documents.content_hash(document),
        "remote_updated_at": _remote_time(document.get("updatedAt")),
    }


def _attachments(flow_spec: FlowSpec) -> list[FlowSpecSource]:
    rows = [
        FlowSpecSource(flow_spec=flow_spec, connection_spec_id=spec_id, role=FlowSpecSource.Role.SOURCE)
        for spec_id in _ids(flow_spec.document.get("sourceConnectionSpecIds"))
    ]
    rows += [
        FlowSpecSource(flow_spec=flow_spec, connection_spec_id=spec_id, role=FlowSpecSource.Role.TARGET)
        for spec_id in _ids(flow_spec.document.get("targetConnectionSpecIds"))
    ]
    return rows


def _spec_id(document: dict) -> str:
    """The document's id, or "" when it has none usable in a URL (such documents are not cached)."""
    spec_id = document.get("id")
    return spec_id.strip() if isinstance(spec_id, str) and SPEC_ID.match(spec_id.strip()) else ""


def _store_connection_specs(sandbox: Sandbox, remote: list[dict]) -> int:
    now = timezone.now()
    wanted: dict[str, dict] = {}
    for document in remote:
        spec_id = _spec_id(document)
        if spec_id:
            wanted[spec_id] = {
                "name": _text(document.get("name"), 255),
                "provider_id": _text(document.get("providerId"), 64),
                "version": _text(document.get("version"), 64),
            }
    cached = {row.spec_id: row for row in ConnectionSpec.objects.filter(sandbox=sandbox)}
    ConnectionSpec.objects.filter(sandbox=sandbox).exclude(spec_id__in=list(wanted)).delete()
    changed, created = [], []
    for spec_id, fields in wanted.items():
        row = cached.get(spec_id)
        if row is None:
            created.append(ConnectionSpec(sandbox=sandbox, spec_id=spec_id, fetched_at=now, **fields))
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            changed.append(row)
    ConnectionSpec.objects.bulk_create(created, batch_size=500)
    ConnectionSpec.objects.bulk_update(changed, ["name", "provider_id", "version"], batch_size=500)
    ConnectionSpec.objects.filter(sandbox=sandbox).update(fetched_at=now)
    return len(wanted)


def _store_flow_specs(
    sandbox: Sandbox, remote: list[dict], *, actor, connection_specs: int, listed_at: datetime | None = None
) -> SyncResult:
    """Upsert the listing into the cache. A row stored after ``listed_at`` (flowadmin applied a change
    while the listing was under way) is newer than the listing: it is left as it is."""
    now = timezone.now()
    wanted: dict[str, dict] = {}
    for document in remote:
        spec_id = _spec_id(document)
        if spec_id:
            wanted[spec_id] = document
        else:
            logger.warning("sandbox %s: a flow spec without a usable id was ignored", sandbox.name)
    # Locked: an apply storing its document now waits, or has committed and is seen as newer.
    cached = {row.spec_id: row for row in FlowSpec.objects.select_for_update().filter(sandbox=sandbox)}
    newer = {spec_id for spec_id, row in cached.items() if listed_at is not None and row.fetched_at > listed_at}
    created: list[FlowSpec] = []
    changed: list[tuple[FlowSpec, dict]] = []  # (row, document it had before)
    refreshed: list[FlowSpec] = []  # same content, other metadata (updatedAt, ...)
    untouched: list[int] = []
    reappeared = unchanged = 0
    for spec_id, document in wanted.items():
        fields = _fields(document)
        row = cached.get(spec_id)
        if row is None:
            created.append(FlowSpec(sandbox=sandbox, spec_id=spec_id, first_seen_at=now, fetched_at=now, **fields))
            continue
        if spec_id in newer:
            unchanged += 1
            continue
        if row.vanished_at is not None:
            reappeared += 1
        elif row.content_hash == fields["content_hash"]:
            unchanged += 1
        if row.content_hash != fields["content_hash"]:
            changed.append((row, row.document))
        elif row.document != document or row.vanished_at is not None:
            refreshed.append(row)
        else:
            untouched.append(row.pk)
            continue
        for name, value in fields.items():
            setattr(row, name, value)
        row.vanished_at = None
        row.fetched_at = now

    FlowSpec.objects.bulk_create(created, batch_size=500)
    changed_rows = [row for row, _ in changed]
    FlowSpec.objects.bulk_update(changed_rows + refreshed, [*CACHE_FIELDS, "vanished_at", "fetched_at"], batch_size=500)
    FlowSpec.objects.filter(pk__in=untouched).update(fetched_at=now)
    vanished = (
        FlowSpec.objects.filter(sandbox=sandbox, vanished_at__isnull=True)
        .exclude(spec_id__in=list(wanted))
        .exclude(spec_id__in=list(newer))
    ).update(vanished_at=now)

    rewritten = created + changed_rows
    FlowSpecVersion.objects.bulk_create(
        [
            FlowSpecVersion(flow_spec=row, document=row.document, content_hash=row.content_hash, seen_at=now)
            for row in rewritten
        ],
        batch_size=500,
    )
    FlowSpecSource.objects.filter(flow_spec__in=changed_rows).delete()
    FlowSpecSource.objects.bulk_create([a for row in rewritten for a in _attachments(row)], batch_size=1000)

    # A change is "remote" unless flowadmin itself recorded that content as one it applied.
    ours = set(
        FlowSpecVersion.objects.filter(
            flow_spec__in=changed_rows,
            origin=FlowSpecVersion.Origin.FLOWADMIN,
            content_hash__in=[row.content_hash for row in changed_rows],
        ).values_list("flow_spec_id", "content_hash")
    )
    remote_changes = [(row, before) for row, before in changed if (row.pk, row.content_hash) not in ours]
    for row, before in remote_changes:
        audit_record(
            action="flowspec.changed_remotely",
            actor=actor,
            sandbox=sandbox.name,
            spec_id=row.spec_id,
            before=before,
            after=row.document,
            detail=f"{row.name or row.spec_id} changed outside flowadmin.",
        )
    return SyncResult(
        sandbox=sandbox.name,
        ok=True,
        new=len(created),
        changed=len(changed),
        unchanged=unchanged,
        vanished=vanished,
        reappeared=reappeared,
        connection_specs=connection_specs,
        changed_remotely=len(remote_changes),
    )


def flowspec_cache_store(
    *, sandbox_name: str, document: dict, origin: str = "flowadmin", change_request_id: int | None = None
) -> FlowSpec:
    """Put a document flowadmin just wrote (or read) into the cache, with its attachments and history.

    Called by the change-request app after a successful PUT with the answer document. The version is
    recorded with ``origin``; when a sync already saw this very content, that version is attributed
    to flowadmin instead of adding a duplicate. Audits nothing itself.
    """
    spec_id = _spec_id(document)
    if not spec_id:
        raise CatalogError(DOCUMENT_WITHOUT_ID)
    if origin not in FlowSpecVersion.Origin.values:
        raise ValueError(f"unknown origin {origin!r}")
    fields = _fields(document)
    now = timezone.now()
    with transaction.atomic():
        sandbox = Sandbox.objects.get(name=sandbox_name)
        row = FlowSpec.objects.select_for_update().filter(sandbox=sandbox, spec_id=spec_id).first()
        if row is None:
            row = FlowSpec.objects.create(sandbox=sandbox, spec_id=spec_id, first_seen_at=now, fetched_at=now, **fields)
            previous_hash = None
        else:
            previous_hash = row.content_hash
            for name, value in fields.items():
                setattr(row, name, value)
            row.vanished_at = None
            row.fetched_at = now
            row.save()
        latest = row.versions.order_by("-seen_at", "-id").first()
        if previous_hash != row.content_hash or latest is None or latest.content_hash != row.content_hash:
            FlowSpecVersion.objects.create(
                flow_spec=row,
                document=document,
                content_hash=row.content_hash,
                seen_at=now,
                origin=origin,
                change_request_id=change_request_id if origin == FlowSpecVersion.Origin.FLOWADMIN else None,
            )
        elif origin == FlowSpecVersion.Origin.FLOWADMIN and latest.origin != origin:
            latest.origin = origin
            latest.change_request_id = change_request_id
            latest.save(update_fields=["origin", "change_request_id"])
        FlowSpecSource.objects.filter(flow_spec=row).delete()
        FlowSpecSource.objects.bulk_create(_attachments(row))
    return row


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
        name = _text(item.get("name"), 255).lower()
        if SANDBOX_NAME.match(name):
            listed[name] = item
        else:
            logger.warning("sandbox name %r refused: %s", name, INVALID_SANDBOX_NAME)
    with transaction.atomic():
        for name, item in listed.items():
            Sandbox.objects.update_or_create(
                name=name,
                defaults={
                    "title": _text(item.get("title"), 255),
                    "type": _text(item.get("type"), 32).lower(),
                    "state": _text(item.get("state"), 32).lower(),
                    "region": _text(item.get("region"), 32),
                    "is_default": item.get("isDefault") is True,
                },
            )
        Sandbox.objects.exclude(name__in=list(listed)).update(state=STATE_GONE)
    return sorted(name for name, item in listed.items() if _text(item.get("state"), 32).lower() == STATE_ACTIVE)


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
            for result in pool.map(_in_own_connection(one), claimed):
                results[result.sandbox] = result
    return [results[name] for name in sorted(results)]


def _in_own_connection(function: Callable) -> Callable:
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


# --- background runs ---------------------------------------------------------------------------
def _open_run_holding(names: list[str], *, other_than: SyncRun) -> SyncRun | None:
    """An active run that already syncs one of ``names`` (or, for no names, any active all-sandboxes run)."""
    if names:
        candidates = SyncRun.objects.filter(
            finished_at__isnull=True, pk__in=Sandbox.objects.filter(name__in=names).values("sync_run")
        )
    else:
        candidates = SyncRun.objects.filter(finished_at__isnull=True, scope="")
    candidates = candidates.exclude(pk=other_than.pk).order_by("-created_at")
    return next((run for run in candidates if run.is_active), None)


def sync_run_start(
    *,
    sandbox_name: str | None = None,
    actor=None,
    background: bool = True,
    on_result: Callable[[SyncResult], None] | None = None,
) -> SyncRunStart:
    """Start syncing one sandbox (None: every sandbox), or find the run that already syncs it.

    The sandboxes already known are claimed here, with the new run's token, so that a second click
    finds them claimed and gets the same run back. ``background`` runs the sync on a daemon thread
    and returns at once; otherwise it runs here and returns when done.
    """
    user = actor if getattr(actor, "is_authenticated", False) else None
    scope = (sandbox_name or "").strip().lower()
    targets = [scope] if scope else _known_targets()
    with transaction.atomic():
        run = SyncRun.objects.create(
            scope=scope,
            token=uuid.uuid4().hex,
            requested_by=user,
            requested_by_username=user.get_username() if user else "",
        )
        claimed = [name for name in targets if sandbox_claim(sandbox_name=name, token=run.token, run=run)]
        SyncRunSandbox.objects.bulk_create([SyncRunSandbox(run=run, sandbox_name=name) for name in claimed])
    if not claimed:
        existing = _open_run_holding(targets, other_than=run)
        if existing is not None:
            run.delete()
            return SyncRunStart(run=existing, created=False)
    if background:
        thread = threading.Thread(
            target=_in_own_connection(sync_run_execute),
            kwargs={"run": run, "actor": user, "on_result": on_result},
            name=f"flowadmin-sync-run-{run.pk}",
            daemon=True,
        )
        thread.start()
        return SyncRunStart(run=run, created=True, thread=thread)
    sync_run_execute(run=run, actor=user, on_result=on_result)
    run.refresh_from_db()
    return SyncRunStart(run=run, created=True)


def _known_targets() -> list[str]:
    """The sandboxes an all-sandboxes run will most likely sync, as far as the database knows."""
    known = Sandbox.objects.filter(state=STATE_ACTIVE)
    configured = [name.strip().lower() for name in settings.FLOWADMIN_SANDBOXES if name.strip()]
    if configured:
        known = known.filter(name__in=configured)
    return list(known.values_list("name", flat=True))


def sync_run_execute(*, run: SyncRun, actor=None, on_result: Callable[[SyncResult], None] | None = None) -> None:
    """Do a run's work and mark it finished, whatever happens; its leases are released."""
    error = ""
    try:
        sandboxes_sync(names=[run.scope] if run.scope else None, actor=actor, run=run, on_result=on_result)
    except FlowServiceError as failure:
        error = f"{DISCOVERY_FAILED}: {failure}"
    except Exception:
        logger.exception("sync run %s failed", run.pk)
        error = UNEXPECTED_ERROR
    finally:
        now = timezone.now()
        # Rows left over: claimed up front but no longer to sync (the Sandbox API stopped listing
        # them as active), or the run failed before reaching them.
        SyncRunSandbox.objects.filter(run=run).exclude(state__in=SyncRunSandbox.DONE_STATES).update(
            state=SyncRunSandbox.State.FAILED if error else SyncRunSandbox.State.SKIPPED,
            error=error or NOT_LISTED,
            finished_at=now,
        )
        SyncRun.objects.filter(pk=run.pk).update(finished_at=now, heartbeat_at=now, error=error)
        Sandbox.objects.filter(sync_lease_token=run.token).update(
            sync_lease_until=None, sync_lease_token="", sync_run=None
        )
