"""The cache store: listings and single documents from the remote API upserted into the cache.

Callers hold the transaction: a sync stores the whole listings of several sandboxes in one, in a few
statements for all of them; `flowspec_cache_store` opens its own. A row stored after a listing was
taken is never overwritten by that listing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from flowadmin.audit.models import AuditEvent
from flowadmin.audit.services import audit_event_new, audit_record
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
from flowadmin.db_copy import rows_copy
from flowadmin.documents import content_hash


def connection_specs_store(listings: list[tuple[Sandbox, dict[str, dict[str, str]]]]) -> dict[int, tuple[int, int]]:
    """Make the cached connection specs of each sandbox those listed (`connection_spec_columns`), in a
    few statements for all of them.

    Returns {sandbox id: (how many are cached, how many of them were added, changed or removed)}."""
    now = timezone.now()
    columns = CONNECTION_SPEC_FIELDS
    cached: dict[int, dict[str, tuple[int, dict]]] = {sandbox.pk: {} for sandbox, _ in listings}
    rows = (
        ConnectionSpec.objects.filter(sandbox__in=list(cached))
        .order_by()
        .values_list("sandbox_id", "pk", "spec_id", *columns)
    )
    for sandbox_id, pk, spec_id, *values in rows:
        cached[sandbox_id][spec_id] = (pk, dict(zip(columns, values, strict=True)))
    stale, changed, created = [], [], []
    counts: dict[int, tuple[int, int]] = {}
    for sandbox, wanted in listings:
        mine = cached[sandbox.pk]
        gone = [pk for spec_id, (pk, _) in mine.items() if spec_id not in wanted]
        fresh = altered = 0
        for spec_id, fields in wanted.items():
            found = mine.get(spec_id)
            if found is None:
                created.append(ConnectionSpec(sandbox=sandbox, spec_id=spec_id, fetched_at=now, **fields))
                fresh += 1
            elif found[1] != fields:
                changed.append(ConnectionSpec(pk=found[0], sandbox=sandbox, spec_id=spec_id, fetched_at=now, **fields))
                altered += 1
        counts[sandbox.pk] = (len(wanted), len(gone) + fresh + altered)
        stale += gone
    if stale:
        ConnectionSpec.objects.filter(pk__in=stale).delete()
    rows_copy(created)
    # A connection spec listed as it is cached is not written again (nor stamped): a warm sync writes none.
    ConnectionSpec.objects.bulk_update(changed, [*columns, "fetched_at"], batch_size=500)
    return counts


@dataclass(frozen=True)
class Listing:
    """One sandbox's flow specs as listed (`flow_spec_columns`), to store with `flow_specs_store`."""

    sandbox: Sandbox
    wanted: dict[str, tuple[dict, dict[str, Any]]]
    connection_specs: int
    listed_at: datetime | None = None


@dataclass
class _Plan:
    """What storing one listing changes: the rows to write and the counts of its `SyncResult`."""

    listing: Listing
    created: list[FlowSpec] = field(default_factory=list)
    changed: list[FlowSpec] = field(default_factory=list)  # other content
    refreshed: list[FlowSpec] = field(default_factory=list)  # same content, other metadata (updatedAt, ...)
    gone: list[int] = field(default_factory=list)
    reappeared: int = 0
    unchanged: int = 0


def _plan(listing: Listing, cached: dict[str, FlowSpec], now: datetime) -> _Plan:
    plan = _Plan(listing)
    sandbox, listed_at = listing.sandbox, listing.listed_at
    newer = {spec_id for spec_id, row in cached.items() if listed_at is not None and row.fetched_at > listed_at}
    for spec_id, (_, fields) in listing.wanted.items():
        row = cached.get(spec_id)
        if row is None:
            plan.created.append(FlowSpec(sandbox=sandbox, spec_id=spec_id, first_seen_at=now, fetched_at=now, **fields))
            continue
        if spec_id in newer:
            plan.unchanged += 1
            continue
        if row.vanished_at is not None:
            plan.reappeared += 1
        elif row.content_hash == fields["content_hash"]:
            plan.unchanged += 1
        if row.content_hash != fields["content_hash"]:
            plan.changed.append(row)
        elif row.metadata_hash != fields["metadata_hash"] or row.vanished_at is not None:
            plan.refreshed.append(row)
        else:
            continue  # listed as it is: left untouched
        for name, value in fields.items():
            setattr(row, name, value)
        row.vanished_at = None
        row.fetched_at = now
    plan.gone = [
        row.pk
        for spec_id, row in cached.items()
        if row.vanished_at is None and spec_id not in listing.wanted and spec_id not in newer
    ]
    return plan


def flow_specs_store(listings: list[Listing], *, actor) -> tuple[list[SyncResult], list[AuditEvent]]:
    """Upsert listings (one per sandbox) into the cache, in a few statements for all of them.

    A row stored after a listing's ``listed_at`` (flowadmin applied a change while the listing was
    under way) is newer than the listing: it is left as it is. Returns a result per listing, in their
    order, and the ``flowspec.changed_remotely`` events to record (`audit_event_new`), not recorded yet.
    """
    now = timezone.now()
    by_sandbox: dict[int, dict[str, FlowSpec]] = {listing.sandbox.pk: {} for listing in listings}
    # Locked: an apply storing its document now waits, or has committed and is seen as newer. The
    # documents are not read: the hashes tell which differ, and only those of changed rows are read.
    rows = FlowSpec.objects.select_for_update().defer("document").filter(sandbox__in=list(by_sandbox)).order_by()
    for row in rows:
        by_sandbox[row.sandbox_id][row.spec_id] = row
    plans = [_plan(listing, by_sandbox[listing.sandbox.pk], now) for listing in listings]

    created = [row for plan in plans for row in plan.created]
    changed_rows = [row for plan in plans for row in plan.changed]
    before = {}  # the documents the changed rows had
    if changed_rows:
        before = dict(FlowSpec.objects.filter(pk__in=[row.pk for row in changed_rows]).values_list("pk", "document"))
    refreshed = [row for plan in plans for row in plan.refreshed]
    gone = [pk for plan in plans for pk in plan.gone]
    FlowSpec.objects.bulk_create(created, batch_size=500)
    FlowSpec.objects.bulk_update(changed_rows + refreshed, [*CACHE_FIELDS, "vanished_at", "fetched_at"], batch_size=500)
    # Rows listed as they are stay untouched: the sandbox's last_synced_at says when they were last seen
    # (`FlowSpec.confirmed_at`). Stamping them would write every row, document and all, at every sync.
    if gone:
        FlowSpec.objects.filter(pk__in=gone).update(vanished_at=now)

    rewritten = created + changed_rows
    rows_copy(
        [
            FlowSpecVersion(flow_spec=row, document=row.document, content_hash=row.content_hash, seen_at=now)
            for row in rewritten
        ]
    )
    if changed_rows:
        FlowSpecSource.objects.filter(flow_spec__in=changed_rows).delete()
    rows_copy([attachment for row in rewritten for attachment in attachments(row)])

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
    results, events = [], []
    for plan in plans:
        sandbox = plan.listing.sandbox
        remote_changes = [row for row in plan.changed if (row.pk, row.content_hash) not in ours]
        events += [
            audit_event_new(
                action="flowspec.changed_remotely",
                actor=actor,
                sandbox=sandbox.name,
                spec_id=row.spec_id,
                before=before[row.pk],
                after=row.document,
                detail=f"{row.name or row.spec_id} changed outside flowadmin.",
            )
            for row in remote_changes
        ]
        results.append(
            SyncResult(
                sandbox=sandbox.name,
                ok=True,
                new=len(plan.created),
                changed=len(plan.changed),
                unchanged=plan.unchanged,
                vanished=len(plan.gone),
                reappeared=plan.reappeared,
                connection_specs=plan.listing.connection_specs,
                changed_remotely=len(remote_changes),
            )
        )
    return results, events


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


def flowspec_remote_seen(
    *, sandbox_name: str, document: dict, actor=None, read_at: datetime | None = None
) -> FlowSpec | None:
    """The remote document as read outside a sync (a check, an apply that found it changed): when it
    differs from the cache, the cache and the version history take it, and a change flowadmin did not
    make is audited (``flowspec.changed_remotely``) as a sync would. None when the cache cannot take it
    (a sandbox the cache does not know).

    ``read_at``: when the document was read. A row stored after it (an apply that landed while the
    answer was on its way) is newer than the document: it is left as it is, as a sync leaves it."""
    spec_id = document_spec_id(document)
    row = FlowSpec.objects.filter(sandbox__name=sandbox_name, spec_id=spec_id).only("content_hash", "document").first()
    new_hash = content_hash(document)
    if row is not None and row.content_hash == new_hash:
        return row
    try:
        with transaction.atomic():
            if read_at is not None:
                locked = (
                    FlowSpec.objects.select_for_update(of=("self",))  # the flow spec's row, not its sandbox's
                    .filter(sandbox__name=sandbox_name, spec_id=spec_id, fetched_at__gt=read_at)
                    .only("pk")
                    .first()
                )
                if locked is not None:
                    return locked
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
