"""Remote documents read into cache columns: names, ids, times and a flow spec's attachments."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flowadmin import documents
from flowadmin.catalog.models import FlowSpec, FlowSpecSource
from flowadmin.documents.ids import id_key

logger = logging.getLogger("flowadmin.catalog")

# Adobe's sandbox names are lower-case letters, digits and dashes; anything else is refused, so a
# hostile name can neither break a URL nor a file path.
SANDBOX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,254}$")
# Remote ids are UUIDs; an id outside this set could not be part of a URL or a file name.
SPEC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

CACHE_FIELDS = (
    "name",
    "provider_id",
    "version",
    "frequency",
    "source_count",
    "document",
    "content_hash",
    "metadata_hash",
    "remote_updated_at",
)


def clean_text(value: Any, limit: int) -> str:
    """A scalar as trimmed text of at most ``limit`` characters; "" for None, objects and lists."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:limit]


def remote_time(value: Any) -> datetime | None:
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


def spec_ids(value: Any) -> list[str]:
    """Connection spec ids of a document field, normalised (trimmed, lower case), unique, in order."""
    if not isinstance(value, list):
        return []
    seen: dict[str, None] = {}
    for item in value:
        if isinstance(item, str) and item.strip():
            seen.setdefault(id_key(item)[:64], None)
    return list(seen)


def document_fields(document: dict) -> dict[str, Any]:
    """The cache columns a flow spec document fills."""
    attributes = document.get("attributes") if isinstance(document.get("attributes"), dict) else {}
    return {
        "name": clean_text(document.get("name"), 255),
        "provider_id": clean_text(document.get("providerId"), 64),
        "version": clean_text(document.get("version"), 64),
        "frequency": clean_text(attributes.get("frequency"), 32),
        "source_count": len(spec_ids(document.get("sourceConnectionSpecIds"))),
        "document": document,
        "content_hash": documents.content_hash(document),
        "metadata_hash": documents.metadata_hash(document),
        "remote_updated_at": remote_time(document.get("updatedAt")),
    }


def attachments(flow_spec: FlowSpec) -> list[FlowSpecSource]:
    """The attachment index rows of a flow spec: one per source and per target connection spec id."""
    rows = [
        FlowSpecSource(flow_spec=flow_spec, connection_spec_id=spec_id, role=FlowSpecSource.Role.SOURCE)
        for spec_id in spec_ids(flow_spec.document.get("sourceConnectionSpecIds"))
    ]
    rows += [
        FlowSpecSource(flow_spec=flow_spec, connection_spec_id=spec_id, role=FlowSpecSource.Role.TARGET)
        for spec_id in spec_ids(flow_spec.document.get("targetConnectionSpecIds"))
    ]
    return rows


def document_spec_id(document: dict) -> str:
    """The document's id, or "" when it has none usable in a URL (such documents are not cached)."""
    spec_id = document.get("id")
    return spec_id.strip() if isinstance(spec_id, str) and SPEC_ID.match(spec_id.strip()) else ""


def flow_spec_columns(remote: list[dict], *, sandbox_name: str) -> dict[str, tuple[dict, dict[str, Any]]]:
    """A flow spec listing by id: each document with its cache columns (documents without a usable id left out)."""
    wanted: dict[str, tuple[dict, dict[str, Any]]] = {}
    for document in remote:
        spec_id = document_spec_id(document)
        if spec_id:
            wanted[spec_id] = (document, document_fields(document))
        else:
            logger.warning("sandbox %s: a flow spec without a usable id was ignored", sandbox_name)
    return wanted


CONNECTION_SPEC_FIELDS = ("name", "provider_id", "version", "category", "frequency")


def connection_spec_fields(document: dict) -> dict[str, str]:
    """The cache columns a connection spec document fills (`CONNECTION_SPEC_FIELDS`)."""
    attributes = document.get("attributes") if isinstance(document.get("attributes"), dict) else {}
    return {
        "name": clean_text(document.get("name"), 255),
        "provider_id": clean_text(document.get("providerId"), 64),
        "version": clean_text(document.get("version"), 64),
        "category": clean_text(attributes.get("category"), 64),
        "frequency": clean_text(attributes.get("frequency"), 32).lower(),
    }


def connection_spec_columns(remote: list[dict]) -> dict[str, dict[str, str]]:
    """A connection spec listing by id: the cache columns of each (documents without a usable id left out)."""
    wanted: dict[str, dict[str, str]] = {}
    for document in remote:
        spec_id = document_spec_id(document)
        if spec_id:
            wanted[spec_id] = connection_spec_fields(document)
    return wanted
