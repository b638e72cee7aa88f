"""The one write path of the audit trail."""

import copy
import json
from collections.abc import Sequence
from typing import Any

import jsonpatch
import jsonpointer
from django.db import connections, router, transaction
from django.utils import timezone

from flowadmin.audit.chain import event_hash
from flowadmin.audit.checkpoints import CHECKPOINT_ACTIONS, checkpoint_after_commit
from flowadmin.audit.correlation import (
    client_request_id_current,
    correlation_id_accepted,
    correlation_id_current,
    correlation_id_new,
)
from flowadmin.audit.models import (
    GENESIS_HASH,
    SEARCH_TERM,
    AuditAction,
    AuditEvent,
    AuditOutcome,
    AuditSearchTerm,
)
from flowadmin.audit.redaction import BEARER, REDACTED, http_scrubbed
from flowadmin.documents import json_patch

CLIENT_REQUEST_ID_NOTE = "[client request id: {value}]"
UNKNOWN_ACTION = "Unknown audit action {action!r}: add it to AuditAction first."
UNKNOWN_OUTCOME = "Unknown audit outcome {outcome!r}: use success, failure or unknown."
NOT_JSON = "The {field} of an audit event must be JSON-serialisable."
BAD_PATCH = "The patch of an audit event must be a list of RFC 6902 operations."

# pg_advisory_xact_lock key of the chain head: any constant that nothing else uses.
CHAIN_LOCK_KEY = 0x617564697463  # "auditc"
SEARCH_VALUE_MAX = 200
SEARCH_TEXT_MAX = 20_000
BACKFILL_CHUNK = 5000


class AuditRecordError(ValueError):
    """An audit event that cannot be recorded as given (a programming error in the caller)."""


def audit_record(**fields: Any) -> AuditEvent:
    """Append one event to the chain and return it; ``fields`` are those of `audit_event_new` (``action``,
    ``actor``, ``outcome``, ``sandbox``, ``spec_id``, ``before``, ``after``, ``http``, ``detail`` ...).

    Runs in its own short transaction (nested in the caller's if there is one). Writers are
    serialised on the chain head, so two of them never fork the chain: on PostgreSQL by a
    transaction-scoped advisory lock, on SQLite by its IMMEDIATE transactions. An apply outcome
    (`CHECKPOINT_ACTIONS`) is followed by a signed checkpoint once the outermost transaction commits.
    """
    return _chain_append([audit_event_new(**fields)])[0]


def audit_record_many(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """Append several events (each made by `audit_event_new`) to the chain in this order, under one lock
    of the chain head and in one transaction; the same events one `audit_record` at a time would chain
    alike."""
    return _chain_append(list(events)) if events else []


def audit_event_new(
    *,
    action: str,
    actor=None,
    outcome: str = AuditOutcome.SUCCESS,
    sandbox: str = "",
    spec_id: str = "",
    change_request_id: int | None = None,
    before: Any = None,
    after: Any = None,
    patch: list[dict] | None = None,
    http: dict | list[dict] | None = None,
    detail: str = "",
    correlation_id: str | None = None,
    search_also: Sequence[str] = (),
) -> AuditEvent:
    """An event as `audit_record` takes it (checked, scrubbed, its search text made), not in the chain yet.

    ``search_also``: more text the free-text filter finds the event by (the whole ids a detail names
    by name and a short id), kept in its search text only.
    """
    if action not in AuditAction.values:
        raise AuditRecordError(UNKNOWN_ACTION.format(action=action))
    if outcome not in AuditOutcome.values:
        raise AuditRecordError(UNKNOWN_OUTCOME.format(outcome=outcome))
    for field, value in (("before", before), ("after", after), ("patch", patch), ("http", http)):
        _ensure_json(field, value)
    if patch is None and (before is not None or after is not None):
        patch = json_patch(before, after)
    if patch is not None and (not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch)):
        raise AuditRecordError(BAD_PATCH)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    actor_username = actor.get_username() if actor is not None else ""
    correlation_id = correlation_id_accepted(correlation_id) or correlation_id_current() or correlation_id_new()
    detail = BEARER.sub(REDACTED, detail or "")
    client_id = client_request_id_current()
    if client_id:  # the client's own X-Request-ID: recorded, never the correlation id
        detail = f"{detail} {CLIENT_REQUEST_ID_NOTE.format(value=client_id)}".lstrip()
    return AuditEvent(
        actor=actor,
        actor_username=actor_username,
        action=action,
        sandbox=sandbox or "",
        spec_id=spec_id or "",
        change_request_id=change_request_id,
        outcome=outcome,
        before=before,
        after=after,
        patch=patch,
        http=http_scrubbed(http),
        correlation_id=correlation_id,
        detail=detail,
        search_text=search_text_for(
            detail=detail,
            sandbox=sandbox,
            spec_id=spec_id,
            actor_username=actor_username,
            correlation_id=correlation_id,
            before=before,
            patch=patch,
            also=search_also,
        ),
    )


def _chain_append(events: list[AuditEvent]) -> list[AuditEvent]:
    using = router.db_for_write(AuditEvent)
    with transaction.atomic(using=using):
        _chain_head_lock(using)
        head = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = head if head else (0, GENESIS_HASH)
        at = timezone.now()
        for event in events:
            seq += 1
            event.seq, event.prev_hash, event.at = seq, prev_hash, at
            event.hash = prev_hash = event_hash(event)
        if len(events) == 1:
            events[0].save(using=using)
        else:
            AuditEvent.objects.using(using).bulk_create(events)
        AuditSearchTerm.objects.using(using).bulk_create(
            [AuditSearchTerm(term=term, event=event) for event in events for term in search_terms(event.search_text)]
        )
        if any(event.action in CHECKPOINT_ACTIONS for event in events):
            # Signed once committed, outside the caller's transaction; a failure is logged, never raised.
            transaction.on_commit(checkpoint_after_commit, using=using)
    return events


def search_terms(search_text: str) -> list[str]:
    """The ids in an event's search text that `AuditSearchTerm` indexes, each once."""
    return list(dict.fromkeys(SEARCH_TERM.findall(search_text)))


def audit_search_terms_backfill(*, using: str = "default", event_model=AuditEvent, term_model=AuditSearchTerm) -> int:
    """Index the ids of every event (those written before the index existed); safe to run again.

    Returns the number of terms written. ``event_model``/``term_model``: a migration's historical models.
    """
    written, after = 0, 0
    while True:
        rows = list(
            event_model.objects.using(using)
            .filter(seq__gt=after)
            .order_by("seq")
            .values_list("seq", "search_text")[:BACKFILL_CHUNK]
        )
        if not rows:
            return written
        after = rows[-1][0]
        terms = [term_model(term=term, event_id=seq) for seq, text in rows for term in search_terms(text)]
        term_model.objects.using(using).bulk_create(terms, batch_size=BACKFILL_CHUNK, ignore_conflicts=True)
        written += len(terms)


def _chain_head_lock(using: str) -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the project opens every transaction IMMEDIATE, which already serialises writers.


def _ensure_json(field: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False, default=_refuse)
    except (TypeError, ValueError) as error:
        raise AuditRecordError(NOT_JSON.format(field=field)) from error


def _refuse(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    raise TypeError(type(value).__name__)


def search_text_for(
    *,
    detail: str,
    sandbox: str,
    spec_id: str,
    actor_username: str,
    correlation_id: str,
    before: Any,
    patch: list[dict] | None,
    also: Sequence[str] = (),
) -> str:
    """The lower-cased text `q` matches: the event's words, ids and every value the change touched.

    Values come from the patch (added and replacing values) and, for removed, replaced or moved
    paths, from `before`: a connection spec id removed from a list appears in no patch value.
    """
    parts = [detail, sandbox, spec_id, actor_username, correlation_id]
    seen: set[str] = set()
    for text in also:
        if text and text not in seen and len(text) <= SEARCH_VALUE_MAX:
            seen.add(text)
            parts.append(text)
    current = copy.deepcopy(before)
    for op in patch or []:
        touched = [op["value"]] if "value" in op else []
        pointer = op.get("from") if op.get("op") in ("move", "copy") else op.get("path")
        if op.get("op") in ("remove", "replace", "move", "copy") and isinstance(pointer, str):
            touched.append(_resolved(current, pointer))
        current = _applied(current, op)
        for value in touched:
            for text in _strings(value):
                if text not in seen and len(text) <= SEARCH_VALUE_MAX:
                    seen.add(text)
                    parts.append(text)
    text = "\n".join(part for part in parts if part).lower()
    return text[:SEARCH_TEXT_MAX]


def _applied(document: Any, op: dict) -> Any:
    # Later operations' paths refer to the document as changed by the earlier ones.
    if document is None and op.get("path") != "":
        return None
    try:
        return jsonpatch.apply_patch(document, [copy.deepcopy(op)], in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError, IndexError):
        return None


def _resolved(document: Any, pointer: str) -> Any:
    if document is None:
        return None
    try:
        return jsonpointer.resolve_pointer(document, pointer, None)
    except jsonpointer.JsonPointerException:
        return None


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
