"""Reads of the emulator's state."""

from __future__ import annotations

import fnmatch

from django.db.models import Q, QuerySet
from django.utils import timezone

from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FaultRule,
    FlowDocument,
    FlowSpecDocument,
    IssuedToken,
    RemoteSandbox,
    RequestLogEntry,
    SourceConnectionDocument,
)
from flowadmin.emulator.tokens import TokenClaims, token_decode


def sandbox_get(*, name: str) -> RemoteSandbox | None:
    # Names are unique: no ordering needed (every emulated call asks this).
    return next(iter(RemoteSandbox.objects.filter(name=name.lower()).order_by()[:1]), None)


def sandbox_list(*, active_only: bool = False) -> list[RemoteSandbox]:
    sandboxes = RemoteSandbox.objects.all()
    if active_only:
        sandboxes = sandboxes.filter(state=RemoteSandbox.State.ACTIVE)
    return list(sandboxes)


def flowspec_texts(*, sandbox: RemoteSandbox) -> list[str]:
    """The sandbox's flow spec documents as stored (JSON text), in the order they were created."""
    return list(FlowSpecDocument.objects.filter(sandbox=sandbox).order_by("id").values_list("document_json", flat=True))


def flowspec_document(*, sandbox: RemoteSandbox, spec_id: str) -> dict | None:
    row = FlowSpecDocument.objects.filter(sandbox=sandbox, spec_id=spec_id.lower()).only("document_json").first()
    return row.document if row else None


def connection_spec_texts(*, sandbox: RemoteSandbox) -> list[str]:
    """The sandbox's connection spec documents as stored (JSON text), in the order they were created."""
    return list(
        ConnectionSpecDocument.objects.filter(sandbox=sandbox).order_by("id").values_list("document_json", flat=True)
    )


def connection_spec_document(*, sandbox: RemoteSandbox, spec_id: str) -> dict | None:
    row = ConnectionSpecDocument.objects.filter(sandbox=sandbox, spec_id=spec_id.lower()).only("document_json").first()
    return row.document if row else None


def source_connection_texts(*, sandbox: RemoteSandbox) -> list[str]:
    """The sandbox's source connections as stored (JSON text), in the order they were created."""
    rows = SourceConnectionDocument.objects.filter(sandbox=sandbox).order_by("id")
    return list(rows.values_list("document_json", flat=True))


def source_connection_document(*, sandbox: RemoteSandbox, connection_id: str) -> dict | None:
    rows = SourceConnectionDocument.objects.filter(sandbox=sandbox, resource_id=connection_id.lower())
    row = rows.only("document_json").first()
    return row.document if row else None


def source_connection_documents(*, sandbox: RemoteSandbox, ids: list[str]) -> dict[str, dict]:
    """{id: document} of the sandbox's source connections among ``ids`` (lower case)."""
    rows = SourceConnectionDocument.objects.filter(sandbox=sandbox, resource_id__in=[i.lower() for i in ids])
    return {row.resource_id: row.document for row in rows.only("resource_id", "document_json")}


def flow_texts(*, sandbox: RemoteSandbox) -> list[str]:
    """The sandbox's dataflows as stored (JSON text), in the order they were created."""
    return list(FlowDocument.objects.filter(sandbox=sandbox).order_by("id").values_list("document_json", flat=True))


def flow_document(*, sandbox: RemoteSandbox, flow_id: str) -> dict | None:
    row = FlowDocument.objects.filter(sandbox=sandbox, resource_id=flow_id.lower()).only("document_json").first()
    return row.document if row else None


def token_claims(*, token: str) -> TokenClaims | None:
    """The claims of a valid token: signed here, not expired, not revoked. None otherwise."""
    claims = token_decode(token)
    if claims is None:
        return None
    if claims.expires_at_ms <= int(timezone.now().timestamp() * 1000):
        return None
    if IssuedToken.objects.filter(jti=claims.jti, revoked_at__isnull=False).exists():
        return None
    return claims


def fault_rule_list() -> list[FaultRule]:
    """The rules still in force, oldest first."""
    return list(FaultRule.objects.filter(Q(times__isnull=True) | Q(times__gt=0)).order_by("id"))


def request_log_list(
    *, method: str | None = None, sandbox: str | None = None, path: str | None = None
) -> list[RequestLogEntry]:
    """Logged API calls, oldest first; `path` is a glob like a fault rule's."""
    entries: QuerySet[RequestLogEntry] = RequestLogEntry.objects.order_by("id")
    if method:
        entries = entries.filter(method=method.upper())
    if sandbox:
        entries = entries.filter(sandbox=sandbox.lower())
    if path:
        return [entry for entry in entries if fnmatch.fnmatchcase(entry.path, path)]
    return list(entries)
