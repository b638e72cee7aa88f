"""What the change-request services share: fresh rows, their audit events, conflicts and error fields.

`flow_service` is the one way they reach the Flow Service (tests replace ``get_client`` here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q

from flowadmin import documents
from flowadmin.audit.services import audit_record
from flowadmin.catalog.names import NO_NAMES, Names, names_for
from flowadmin.changes.errors import ChangeRequestConflict
from flowadmin.changes.messages import (
    ALREADY_DECIDED,
    MAX_ERROR_CODE,
    MAX_ERROR_TITLE,
    MAX_REQUEST_ID,
)
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import FlowServiceError, get_client

Status = ChangeRequest.Status


def flow_service():
    return get_client()


def username(user) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def fresh(change_request: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_related("author", "reviewer").get(pk=change_request.pk)


def audit(change_request: ChangeRequest, *, action: str, actor=None, **fields) -> None:
    audit_record(
        action=action,
        actor=actor,
        sandbox=change_request.sandbox,
        spec_id=change_request.spec_id,
        change_request_id=change_request.pk,
        **fields,
    )


def conflict(change_request: ChangeRequest, template: str = ALREADY_DECIDED) -> ChangeRequestConflict:
    current = ChangeRequest.objects.filter(pk=change_request.pk).values_list("status", flat=True).first()
    return ChangeRequestConflict(
        template.format(pk=change_request.pk, status=current or "gone"), change_request=change_request
    )


def describe(added: Sequence[str], removed: Sequence[str], names: Names | None = None) -> str:
    """The change in words, "adds Zoho CRM (04e0fcbb…); removes …": each id by its name when known, else whole."""
    names = names or NO_NAMES
    parts = []
    if added:
        parts.append("adds " + names.labelled_list(added))
    if removed:
        parts.append("removes " + names.labelled_list(removed))
    return "; ".join(parts) or "changes nothing"


def change_names(added: Sequence[str], removed: Sequence[str]) -> Names:
    """The names of the connection specs a change adds and removes (one query), for its event's text."""
    return names_for(connection_specs=[*added, *removed])


def normalised_ids(document: dict | None) -> list[str]:
    return documents.id_keys(documents.source_ids(document or {}))


def carries_change(change_request: ChangeRequest, document: dict) -> bool:
    """The document has every id the request adds and none it removes."""
    ids = set(normalised_ids(document))
    return all(spec_id in ids for spec_id in change_request.added_ids) and not any(
        spec_id in ids for spec_id in change_request.removed_ids
    )


def error_fields(error: FlowServiceError) -> dict[str, Any]:
    return {
        "error_status": error.status,
        "error_code": (error.code or "")[:MAX_ERROR_CODE],
        "error_title": (error.title or "")[:MAX_ERROR_TITLE],
        "error_detail": error.detail or "",
        "error_request_id": (error.request_id or "")[:MAX_REQUEST_ID],
    }


NO_ERROR = {"error_status": None, "error_code": "", "error_title": "", "error_detail": "", "error_request_id": ""}


def own_error(code: str, title: str, detail: str) -> dict[str, Any]:
    return {**NO_ERROR, "error_code": code, "error_title": title, "error_detail": detail}


def decidable_q() -> Q:
    return Q(status=Status.PENDING) | Q(status=Status.STALE, superseded_at__isnull=True)


def dismissed_text(count: int) -> str:
    return f" {count} approval{'s' if count != 1 else ''} dismissed." if count else ""
