"""The cache store: listings and single documents from the remote API upserted into the cache.

Callers hold the transaction: a sync stores a sandbox's whole listing in one, `flowspec_cache_store`
opens its own. A row stored after a listing was taken is never overwritten by that listing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from flowadmin.audit.services import audit_record
from flowadmin.catalog.errors import DOCUMENT_WITHOUT_ID, CatalogError
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecSource, FlowSpecVersion, Sandbox
from flowadmin.catalog.remote_fields import (
    CACHE_FIELDS,
    CONNECTION_SPEC_FIELDS,
    attachments,
    document_fields,
    document_spec_id,
)
from flowadmin.catalog.results import SyncResult
from flowadmin.documents import content_hash


def connection_specs_store(sandbox: Sandbox, wanted: dict[str, dict[str, str]]) -> tuple[int, int]:
    """Make the cached connection specs of ``sandbox`` those listed (`connection_spec_columns`).

    Returns (how many are cached, how many of them were added, changed or removed)."""
    now = timezone.now()
    columns = CONNECTION_SPEC_FIELDS
    cached = {
        spec_id: (pk, dict(zip(columns, values, strict=True)))
        for pk, spec_id, *values in ConnectionSpec.objects.filter(sandbox=sandbox)
        .order_by()
        .values_list("pk", "spec_id", *columns)
    }
    stale = [pk for spec_id, (pk, _) in cached.items() if spec_id not in wanted]
    if stale:
        ConnectionSpec.objects.filter(pk__in=stale).delete()
    changed, created = [], []
    for spec_id, fields in wanted.items():
        found = cached.get(spec_id)
        if found is None:
            created.append(ConnectionSpec(sandbox=sandbox, spec_id=spec_id, fetched_at=now, **fields))
        elif found[1] != fields:
            changed.append(ConnectionSpec(pk=found[0], sandbox=sandbox, spec_id=spec_id, **fields))
    ConnectionSpec.objects.bulk_create(created, batch_size=500)
    ConnectionSpec.objects.bulk_update(changed, list(columns), batch_size=500)
    if len(created) < len(wanted):
        ConnectionSpec.objects.filter(sandbox=sandbox).update(fetched_at=now)
    return len(wanted), len(stale) + len(created) + len(changed)


def flow_specs_store(
    sandbox: Sandbox,
    wanted: dict[str, tuple[dict, dict[str, Any]]],
    *,
    actor,
    connection_specs: int,
    listed_at: datetime | None = None,
) -> SyncResult:
    """Upsert a listing (`flow_spec_columns`) into the cache. A row stored after ``listed_at`` (flowadmin
    applied a change while the listing was under way) is newer than the listing: it is left as it is."""
    now = timezone.now()
    # Locked: an apply storing its document now waits, or has committed and is seen as newer.
    cached = {row.spec_id: row for row in FlowSpec.objects.select_for_update().filter(sandbox=sandbox).order_by()}
    newer = {spec_id for spec_id, row in cached.items() if listed_at is not None and row.fetched_at > listed_at}
    created: list[FlowSpec] = []
    changed: list[tuple[FlowSpec, dict]] = []  # (row, document it had before)
    refreshed: list[FlowSpec] = []  # same content, other metadata (updatedAt, ...)
    untouched: list[int] = []
    reappeared = unchanged = 0
    for spec_id, (document, fields) in wanted.items():
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
    if untouched:
        FlowSpec.objects.filter(pk__in=untouched).update(fetched_at=now)
    gone = [
        row.pk
        for spec_id, row in cached.items()
        if row.vanished_at is None and spec_id not in wanted and spec_id not in newer
    ]
    vanished = FlowSpec.objects.filter(pk__in=gone).update(vanished_at=now) if gone else 0

    rewritten = created + changed_rows
    FlowSpecVersion.objects.bulk_create(
        [
            FlowSpecVersion(flow_spec=row, document=row.document, content_hash=row.content_hash, seen_at=now)
            for row in rewritten
        ],
        batch_size=500,
    )
    if changed_rows:
        FlowSpecSource.objects.filter(flow_spec__in=changed_rows).delete()
    FlowSpecSource.objects.bulk_create([a for row in rewritten for a in attachments(row)], batch_size=1000)

    # A change is "remote" unless flowadmin itself recorded that content as one it applied.
    ours = set()
    if changed_rows:
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
    spec_id = document_spec_id(document)
    if not spec_id:
        raise CatalogError(DOCUMENT_WITHOUT_ID)
    if origin not in FlowSpecVersion.Origin.values:
        raise ValueError(f"unknown origin {origin!r}")
    fields = document_fields(document)
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
        FlowSpecSource.objects.bulk_create(attachments(row))
    return row


def flowspec_remote_seen(*, sandbox_name: str, document: dict, actor=None) -> FlowSpec | None:
    """The remote document as read outside a sync (a check, an apply that found it changed): when it
    differs from the cache, the cache and the version history take it, and a change flowadmin did not
    make is audited (``flowspec.changed_remotely``) as a sync would. None when the cache cannot take it
    (a sandbox the cache does not know)."""
    spec_id = document_spec_id(document)
    row = FlowSpec.objects.filter(sandbox__name=sandbox_name, spec_id=spec_id).only("content_hash", "document").first()
    new_hash = content_hash(document)
    if row is not None and row.content_hash == new_hash:
        return row
    try:
        with transaction.atomic():
            stored = flowspec_cache_store(sandbox_name=sandbox_name, document=document, origin="sync")
            ours = FlowSpecVersion.objects.filter(
                flow_spec=stored, origin=FlowSpecVersion.Origin.FLOWADMIN, content_hash=new_hash
            ).exists()
            if row is not None and not ours:
                audit_record(
                    action="flowspec.changed_remotely",
                    actor=actor,
                    sandbox=sandbox_name,
                    spec_id=stored.spec_id,
                    before=row.document,
                    after=document,
                    detail=f"{stored.name or stored.spec_id} changed outside flowadmin (seen while checking a change).",
                )
    except (CatalogError, Sandbox.DoesNotExist):
        return None
    return stored
