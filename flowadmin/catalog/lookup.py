"""Live lookup of connection spec ids the cache does not know yet: ask the sandbox's Flow Service.

A connection spec created since the last sync is not in the cache. Rather than refusing it, callers
ask `connection_specs_look_up`: each id not cached in the sandbox is read with
``GET /connectionSpecs/{id}``; those the Flow Service knows are stored in the cache (whole rows, in
one transaction once every read is done) and returned with their names; those it answers 404 for are
reported as unknown to it; any other failure (503 after the client's retries, a timeout) is reported
as a failed lookup and nothing is stored for that id; the ids after it are not asked (they share the
failure), so a failing Flow Service costs one retry sequence per call, not one per id.

The work is bounded: only well-formed ids (UUIDs), each once, at most ``FLOWADMIN_LOOKUP_MAX`` a call
(the rest are left as they are: not cached); ``FLOWADMIN_LOOKUP_MAX = 0`` turns live lookups off. An id
the Flow Service answered 404 for is not asked again for ``FLOWADMIN_LOOKUP_MISS_SECONDS`` (60; the
process's cache), so a live preview does not ask at every keystroke about an id that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from flowadmin.catalog.models import ConnectionSpec, Sandbox
from flowadmin.catalog.remote_fields import connection_spec_fields, document_spec_id
from flowadmin.documents.ids import normalise
from flowadmin.flowservice import FlowServiceError, get_client

logger = logging.getLogger("flowadmin.catalog")

LOOKUP_FAILED = "looking it up in the Flow Service of sandbox “{sandbox}” failed ({error}); try again"


@dataclass(frozen=True)
class Lookup:
    """What the Flow Service said about the ids looked up (all lower case)."""

    sandbox: str
    found: dict[str, str] = field(default_factory=dict)  # id -> name: now cached
    missing: frozenset[str] = frozenset()  # the Flow Service does not know them (404)
    failed: dict[str, str] = field(default_factory=dict)  # id -> why the lookup failed (nothing stored)
    skipped: frozenset[str] = frozenset()  # over the per-call maximum: not looked up

    @property
    def looked_up(self) -> frozenset[str]:
        return frozenset(self.found) | self.missing | frozenset(self.failed)


def lookup_max() -> int:
    return max(0, int(getattr(settings, "FLOWADMIN_LOOKUP_MAX", 5)))


def error_text(error: FlowServiceError) -> str:
    """A failed read as people read it: status, title, and the request id to quote to Adobe."""
    parts = [f"HTTP {error.status}" if error.status else "no answer"]
    if error.title:
        parts.append(error.title)
    text = ": ".join(parts)
    if error.request_id:
        text += f", request id {error.request_id}"
    return text


def _miss_key(sandbox: str, spec_id: str) -> str:
    return f"flowadmin:lookup-miss:{sandbox}:{spec_id}"


def _recent_misses(sandbox: str, ids: list[str]) -> set[str]:
    """The ids the Flow Service of ``sandbox`` answered 404 for a moment ago (not asked again yet)."""
    if not ids or _miss_seconds() == 0:
        return set()
    known = cache.get_many([_miss_key(sandbox, spec_id) for spec_id in ids])
    return {spec_id for spec_id in ids if _miss_key(sandbox, spec_id) in known}


def _miss_seconds() -> int:
    return max(0, int(getattr(settings, "FLOWADMIN_LOOKUP_MISS_SECONDS", 60)))


def _wanted(sandbox: Sandbox, ids: Iterable[str]) -> list[str]:
    candidates = list(dict.fromkeys(filter(None, (normalise(spec_id or "") for spec_id in ids))))
    if not candidates:
        return []
    cached = {
        spec_id.lower()
        for spec_id in ConnectionSpec.objects.filter(sandbox=sandbox, spec_id__in=candidates).values_list(
            "spec_id", flat=True
        )
    }
    return [spec_id for spec_id in candidates if spec_id not in cached]


def connection_specs_look_up(*, sandbox: str, ids: Iterable[str], client=None) -> Lookup:
    """Look up the ids of ``ids`` that sandbox ``sandbox`` has not cached (see the module docstring).

    Never raises for a remote failure: it is in ``failed``. A sandbox the cache does not know gives
    an empty result (nothing can be stored for it)."""
    row = Sandbox.objects.filter(name=sandbox).first()
    limit = lookup_max()
    if row is None or limit == 0:
        return Lookup(sandbox=sandbox)
    wanted = _wanted(row, ids)
    recent = _recent_misses(sandbox, wanted)
    wanted = [spec_id for spec_id in wanted if spec_id not in recent]
    asked, skipped = wanted[:limit], frozenset(wanted[limit:])
    if not asked:
        return Lookup(sandbox=sandbox, missing=frozenset(recent), skipped=skipped)
    client = client or get_client()
    documents: dict[str, dict] = {}
    missing: set[str] = set()
    failed: dict[str, str] = {}
    for spec_id in asked:
        if failed:  # the Flow Service is failing: the other ids are not asked (one retry sequence a call at most)
            failed[spec_id] = next(iter(failed.values()))
            continue
        try:
            document = client.get_connection_spec(sandbox, spec_id)
        except FlowServiceError as error:
            if error.status == 404:
                missing.add(spec_id)
            else:
                failed[spec_id] = LOOKUP_FAILED.format(sandbox=sandbox, error=error_text(error))
                logger.warning("sandbox %s: looking up connection spec %s failed: %s", sandbox, spec_id, error)
            continue
        if isinstance(document, dict) and document_spec_id(document).lower() == spec_id:
            documents[spec_id] = document
        else:
            missing.add(spec_id)
    found = _store(row, documents)
    if missing and _miss_seconds():
        cache.set_many({_miss_key(sandbox, spec_id): True for spec_id in missing}, timeout=_miss_seconds())
    missing |= recent
    return Lookup(sandbox=sandbox, found=found, missing=frozenset(missing), failed=failed, skipped=skipped)


def _store(sandbox: Sandbox, documents: dict[str, dict]) -> dict[str, str]:
    """Cache the documents read (one transaction); a row a sync stored meanwhile is left as it is."""
    if not documents:
        return {}
    now = timezone.now()
    found: dict[str, str] = {}
    with transaction.atomic():
        for spec_id, document in documents.items():
            fields = connection_spec_fields(document)
            row, _created = ConnectionSpec.objects.get_or_create(
                sandbox=sandbox, spec_id=spec_id, defaults={**fields, "fetched_at": now}
            )
            found[spec_id] = row.name
    return found


def connection_specs_looked_up_since_sync(*, sandbox: str, ids: Iterable[str]) -> frozenset[str]:
    """Which of ``ids`` (lower case) the cache of ``sandbox`` holds from a live lookup made since its
    last sync (a row a sync adds, or finds as it is, was fetched before the sync records its end)."""
    ids = list(ids)
    if not ids:
        return frozenset()
    rows = ConnectionSpec.objects.filter(sandbox__name=sandbox, spec_id__in=ids)
    synced = Sandbox.objects.filter(name=sandbox).values_list("last_synced_at", flat=True).first()
    if synced is not None:
        rows = rows.filter(fetched_at__gt=synced)
    return frozenset(spec_id.lower() for spec_id in rows.values_list("spec_id", flat=True))
