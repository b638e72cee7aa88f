"""Writes to the emulator's state: tokens, flow and connection spec documents, fault rules, the request log."""

from __future__ import annotations

import fnmatch
import threading
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FaultRule,
    FlowSpecDocument,
    IssuedToken,
    RemoteSandbox,
    RequestLogEntry,
)
from flowadmin.emulator.tokens import TOKEN_LIFETIME_S, TokenClaims, technical_account_id, token_encode
from flowadmin.emulator.validation import METADATA_FIELDS, without_metadata

SEED_USER = "acp_foundation_connectors@AdobeID"
SEED_CLIENT = "acp_foundation_connectors"

FAULT_KEYS = ("method", "path", "sandbox", "action", "status", "shape", "retry_after", "delay_ms", "times", "href")
FAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
FAULT_NOT_OBJECT = "A fault rule must be a JSON object."
FAULT_UNKNOWN_KEYS = "Unknown key(s) in the fault rule: {keys}. Allowed: {allowed}."
FAULT_ACTION = "'action' must be one of {choices}."
FAULT_METHOD = "'method' must be one of {choices} (or left out for any method)."
FAULT_TEXT = "'{key}' must be a string."
FAULT_PATH = "'path' must be a glob over the path after /emulator, starting with '/' or '*'."
FAULT_INTEGER = "'{key}' must be an integer between {low} and {high}."
FAULT_SHAPE = "'shape' must be one of {choices}."
FAULT_HREF = "'href' is required by next_link (and only by it): an absolute http(s) URL."
MAX_DELAY_MS = 120_000


class DocumentNotFound(LookupError):
    pass


class FaultRuleError(ValueError):
    pass


def epoch_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


# --- IMS tokens ------------------------------------------------------------------------------
def token_issue(*, client_id: str, scope: str = "", lifetime_s: int = TOKEN_LIFETIME_S) -> str:
    """Mint and record an access token (a negative lifetime gives one that has already expired)."""
    now = timezone.now()
    claims = TokenClaims(
        jti=uuid.uuid4(),
        client_id=client_id,
        user_id=technical_account_id(client_id),
        scope=scope,
        created_at_ms=int(now.timestamp() * 1000),
        expires_in_ms=lifetime_s * 1000,
    )
    IssuedToken.objects.create(
        jti=claims.jti,
        client_id=client_id,
        scope=scope,
        issued_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
    )
    return token_encode(claims)


def tokens_revoke(*, client_id: str | None = None) -> int:
    """Revoke every recorded token (of one client); their next use answers 401013."""
    tokens = IssuedToken.objects.filter(revoked_at__isnull=True)
    if client_id is not None:
        tokens = tokens.filter(client_id=client_id)
    return tokens.update(revoked_at=timezone.now())


# --- flow spec documents ---------------------------------------------------------------------
def document_with_metadata(body: dict, *, spec_id: str, metadata: dict) -> dict:
    """`id`, then the read-only metadata, then the body's own fields in their order."""
    document = {"id": spec_id}
    document.update({field: metadata[field] for field in METADATA_FIELDS if field in metadata})
    document.update({key: value for key, value in without_metadata(body).items() if key != "id"})
    return document


def flowspec_replace(*, sandbox: RemoteSandbox, spec_id: str, body: dict, client_id: str) -> dict:
    """Full replacement of a flow spec (the body must already be valid); returns the stored document."""
    with transaction.atomic():
        row = FlowSpecDocument.objects.select_for_update().filter(sandbox=sandbox, spec_id=spec_id.lower()).first()
        if row is None:
            raise DocumentNotFound(spec_id)
        old = row.document
        updated_at = max(epoch_ms(), row.updated_at_ms + 1, int(old.get("createdAt") or 0) + 1)
        metadata = {field: old[field] for field in METADATA_FIELDS if field in old}
        metadata.update(updatedAt=updated_at, updatedBy=technical_account_id(client_id), updatedClient=client_id)
        row.document = document_with_metadata(body, spec_id=row.spec_id, metadata=metadata)
        row.updated_at_ms = updated_at
        row.save(update_fields=["document_json", "name", "provider_id", "updated_at_ms"])
    return row.document


def stamped_metadata(*, sandbox: RemoteSandbox, created_at: int, updated_at: int, user: str, client_id: str) -> dict:
    """The read-only metadata of a document, in the order Adobe's answers give it."""
    return {
        "createdAt": created_at,
        "updatedAt": updated_at,
        "createdBy": user,
        "updatedBy": user,
        "createdClient": client_id,
        "updatedClient": client_id,
        "sandboxId": str(sandbox.sandbox_id),
        "sandboxName": sandbox.name,
        "imsOrgId": settings.ADOBE_ORG_ID,
    }


def seed_metadata(*, sandbox: RemoteSandbox, created_at: int, updated_at: int) -> dict:
    """The metadata of a seeded document: written by Adobe's own connectors client."""
    return stamped_metadata(
        sandbox=sandbox, created_at=created_at, updated_at=updated_at, user=SEED_USER, client_id=SEED_CLIENT
    )


def creation_metadata(*, sandbox: RemoteSandbox, client_id: str, now: int) -> dict:
    """The read-only metadata the service stamps on a document it creates."""
    user = technical_account_id(client_id)
    return stamped_metadata(sandbox=sandbox, created_at=now, updated_at=now, user=user, client_id=client_id)


def flowspec_create(*, sandbox: RemoteSandbox, body: dict, client_id: str) -> dict:
    """Create a flow spec with a new id (the body must already be valid); returns the stored document."""
    spec_id, now = str(uuid.uuid4()), epoch_ms()
    row = FlowSpecDocument(sandbox=sandbox, spec_id=spec_id, updated_at_ms=now)
    metadata = creation_metadata(sandbox=sandbox, client_id=client_id, now=now)
    row.document = document_with_metadata(body, spec_id=spec_id, metadata=metadata)
    row.save()
    return row.document


def connection_spec_create(*, sandbox: RemoteSandbox, body: dict, client_id: str) -> dict:
    """Create a connection spec in one sandbox with a new id (the body must already be valid)."""
    spec_id = str(uuid.uuid4())
    row = ConnectionSpecDocument(sandbox=sandbox, spec_id=spec_id)
    metadata = creation_metadata(sandbox=sandbox, client_id=client_id, now=epoch_ms())
    row.document = document_with_metadata(body, spec_id=spec_id, metadata=metadata)
    row.save()
    return row.document


# --- fault rules -----------------------------------------------------------------------------
def _integer(rule: dict, key: str, low: int, high: int) -> int | None:
    value = rule.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultRuleError(FAULT_INTEGER.format(key=key, low=low, high=high))
    return value


def _text(rule: dict, key: str) -> str:
    value = rule.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FaultRuleError(FAULT_TEXT.format(key=key))
    return value.strip()


def fault_rule_add(*, rule: Any) -> FaultRule:
    """Validate and store a fault rule (the fields are listed in docs/INTERFACES.md, `/emulator/_faults`)."""
    if not isinstance(rule, dict):
        raise FaultRuleError(FAULT_NOT_OBJECT)
    unknown = sorted(set(rule) - set(FAULT_KEYS))
    if unknown:
        raise FaultRuleError(FAULT_UNKNOWN_KEYS.format(keys=", ".join(unknown), allowed=", ".join(FAULT_KEYS)))
    action = rule.get("action")
    if action not in FaultRule.Action.values:
        raise FaultRuleError(FAULT_ACTION.format(choices=", ".join(FaultRule.Action.values)))
    method = _text(rule, "method").upper()
    if method == "*":
        method = ""
    if method and method not in FAULT_METHODS:
        raise FaultRuleError(FAULT_METHOD.format(choices=", ".join(FAULT_METHODS)))
    path = _text(rule, "path") or "*"
    if not path.startswith(("/", "*")):
        raise FaultRuleError(FAULT_PATH)
    shape = _text(rule, "shape")
    if shape and shape not in FaultRule.Shape.values:
        raise FaultRuleError(FAULT_SHAPE.format(choices=", ".join(FaultRule.Shape.values)))
    href = _text(rule, "href")
    if (action == FaultRule.Action.NEXT_LINK) != bool(href) or (
        href and (urlsplit(href).scheme not in ("http", "https") or not urlsplit(href).netloc)
    ):
        raise FaultRuleError(FAULT_HREF)
    status = _integer(rule, "status", 100, 599)
    if status is None and action == FaultRule.Action.RESPOND:
        status = 503
    return FaultRule.objects.create(
        method=method,
        path=path,
        sandbox=_text(rule, "sandbox").lower(),
        action=action,
        status=status,
        shape=shape,
        retry_after=_integer(rule, "retry_after", 0, 86400),
        delay_ms=_integer(rule, "delay_ms", 0, MAX_DELAY_MS) or 0,
        times=_integer(rule, "times", 1, 1_000_000),
        href=href[:2000],
    )


class _Delays:
    """The delays in progress in this process: clearing the fault rules ends them at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._released = threading.Event()

    def wait(self, seconds: float) -> None:
        with self._lock:
            released = self._released
        released.wait(seconds)

    def release(self) -> None:
        with self._lock:
            released, self._released = self._released, threading.Event()
        released.set()


delays = _Delays()


def fault_rules_clear() -> int:
    """Delete every fault rule; delays being served now (in this process) end at once."""
    deleted = FaultRule.objects.all().delete()[0]
    delays.release()
    return deleted


def _fault_applies(rule: FaultRule, *, method: str, path: str, sandbox: str) -> bool:
    return (
        (not rule.method or rule.method == method.upper())
        and (not rule.sandbox or rule.sandbox == sandbox)
        and fnmatch.fnmatchcase(path, rule.path)
    )


def fault_take(*, method: str, path: str, sandbox: str) -> FaultRule | None:
    """The oldest rule in force that applies to this call, one of its `times` consumed.

    The countdown is a single conditional UPDATE, so two concurrent calls never both consume the
    last use of a rule; the loser moves on to the next rule (or to normal handling).
    """
    for rule in FaultRule.objects.order_by("id"):
        if rule.times == 0 or not _fault_applies(rule, method=method, path=path, sandbox=sandbox):
            continue
        if rule.times is None:
            return rule
        if FaultRule.objects.filter(pk=rule.pk, times__gt=0).update(times=F("times") - 1):
            FaultRule.objects.filter(pk=rule.pk, times=0).delete()
            return rule
    return None


# --- request log -----------------------------------------------------------------------------
def request_log_record(
    *, method: str, path: str, sandbox: str, status: int | None, request_id: str, fault: str = ""
) -> RequestLogEntry:
    return RequestLogEntry.objects.create(
        method=method.upper(),
        path=path[:2000],
        sandbox=sandbox[:64],
        status=status,
        request_id=request_id,
        fault=fault,
    )


def request_log_clear() -> int:
    return RequestLogEntry.objects.all().delete()[0]
