"""Applying a change request exactly once, and settling one whose PUT got no answer.

* no database transaction is open during an HTTP call: the caller commits ``applying``, `apply`
  calls, then records the outcome and its audit event in a second short transaction;
* the PUT body is the document *just re-read*, minus its metadata, with only
  ``sourceConnectionSpecIds`` changed; when the re-read document is not the request's base any more,
  nothing is sent and the request becomes ``stale`` (the cache takes the remote document);
* a removal is sent only once the dataflows using the removed ids are read anew: when they cannot
  be read the attempt fails (retryable), when one appeared since the review the request becomes
  ``stale``; the apply's audit event carries that reading;
* a PUT whose answer was lost leaves the request ``applying`` until `change_request_reconcile`
  reads the document back and settles it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from flowadmin import documents
from flowadmin.catalog.models import FlowSpec, Sandbox
from flowadmin.catalog.services import CatalogError, flowspec_cache_store, flowspec_remote_seen
from flowadmin.changes import notifications
from flowadmin.changes.common import (
    NO_ERROR,
    audit,
    carries_change,
    error_fields,
    flow_service,
    fresh,
    normalised_ids,
    own_error,
)
from flowadmin.changes.errors import ChangeRequestConflict, ChangeRequestError
from flowadmin.changes.impact import Impact, error_text, impact_read, impact_store
from flowadmin.changes.messages import (
    ANSWER_MISMATCH,
    APPLY_IN_PROGRESS,
    CODE_IMPACT_UNKNOWN,
    CODE_NOT_APPLIED,
    CODE_SCHEMA_INVALID,
    CODE_VERIFICATION,
    IMPACT_STALE_DETAIL,
    IMPACT_UNKNOWN_DETAIL,
    NOT_APPLIED_DETAIL,
    READBACK_MISMATCH,
    RECONCILE_READ_FAILED,
    TITLE_IMPACT_UNKNOWN,
    TITLE_NOT_APPLIED,
    TITLE_SCHEMA_INVALID,
    TITLE_VERIFICATION,
)
from flowadmin.changes.models import ChangeRequest
from flowadmin.flowservice import FlowServiceError, OutcomeUnknownError

logger = logging.getLogger("flowadmin.changes")
Status = ChangeRequest.Status


@dataclass
class _Outcome:
    status: str  # applied | failed | stale | unknown
    remote: dict | None = None  # the document read just before the PUT
    after: dict | None = None  # the document after it (read back, or the PUT's answer)
    error: dict[str, Any] = field(default_factory=lambda: dict(NO_ERROR))
    detail: str = ""
    impact: Impact | None = None  # the dependent dataflows read just before the PUT (removals only)


def _impact_stop(client, change_request: ChangeRequest, remote: dict) -> _Outcome | None:
    """Read the dataflows depending on the removal: the outcome that stops the apply, or "go"."""
    impact = impact_read(
        sandbox=change_request.sandbox,
        spec_id=change_request.spec_id,
        removed=change_request.removed_ids,
        client=client,
    )
    if not impact.ok:
        detail = IMPACT_UNKNOWN_DETAIL.format(error=error_text(impact.error))
        return _Outcome(
            "failed",
            remote=remote,
            error=own_error(CODE_IMPACT_UNKNOWN, TITLE_IMPACT_UNKNOWN, detail),
            detail=detail,
            impact=impact,
        )
    new = impact.changed_since(Impact.from_dict(change_request.impact))
    if new:
        listed = ", ".join(f"{dataflow.name} ({dataflow.id}, {dataflow.state})" for dataflow in new)
        return _Outcome("stale", remote=remote, detail=IMPACT_STALE_DETAIL.format(new=listed), impact=impact)
    return _Outcome("go", impact=impact)


def _attempt(client, change_request: ChangeRequest) -> _Outcome:
    """Re-read, compare with the base, validate, PUT, verify. Only HTTP here, no database."""
    sandbox, spec_id = change_request.sandbox, change_request.spec_id
    try:
        remote = client.get_flow_spec(sandbox, spec_id)
    except FlowServiceError as error:
        return _Outcome("failed", error=error_fields(error), detail=f"Could not read the flow spec: {error}")
    if documents.content_hash(remote) != change_request.base_hash:
        return _Outcome(
            "stale",
            remote=remote,
            detail="The remote document changed since the request was made: nothing was sent.",
        )
    impact = None
    if change_request.removed_ids:
        stop = _impact_stop(client, change_request, remote)
        if stop.status != "go":
            return stop
        impact = stop.impact
    expected = normalised_ids(change_request.proposed_document)
    body = documents.put_body(documents.with_source_ids(remote, expected))
    problems = documents.validate_document(body)
    if problems:
        detail = "; ".join(problems)
        return _Outcome(
            "failed",
            remote=remote,
            error=own_error(CODE_SCHEMA_INVALID, TITLE_SCHEMA_INVALID, detail),
            detail=f"Nothing was sent: {detail}",
            impact=impact,
        )
    outcome = _put_and_verify(client, change_request, remote, body, expected)
    outcome.impact = impact
    return outcome


def _put_and_verify(client, change_request: ChangeRequest, remote: dict, body: dict, expected: list[str]) -> _Outcome:
    sandbox, spec_id = change_request.sandbox, change_request.spec_id
    try:
        answer = client.put_flow_spec(sandbox, spec_id, body)
    except OutcomeUnknownError as error:
        return _Outcome("unknown", remote=remote, error=error_fields(error), detail=str(error))
    except FlowServiceError as error:
        return _Outcome("failed", remote=remote, error=error_fields(error), detail=f"The PUT failed: {error}")
    if normalised_ids(answer) != expected:
        detail = ANSWER_MISMATCH.format(found=normalised_ids(answer), expected=expected)
        return _Outcome(
            "failed",
            remote=remote,
            after=answer,
            error=own_error(CODE_VERIFICATION, TITLE_VERIFICATION, detail),
            detail=detail,
        )
    try:
        readback = client.get_flow_spec(sandbox, spec_id)
    except FlowServiceError as error:
        return _Outcome(
            "applied",
            remote=remote,
            after=answer,
            detail=f"Applied; reading it back failed ({error}), the answer was used.",
        )
    if normalised_ids(readback) != expected:
        detail = READBACK_MISMATCH.format(found=normalised_ids(readback), expected=expected)
        return _Outcome(
            "failed",
            remote=remote,
            after=readback,
            error=own_error(CODE_VERIFICATION, TITLE_VERIFICATION, detail),
            detail=detail,
        )
    return _Outcome("applied", remote=remote, after=readback, detail="Applied and read back.")


def apply(*, change_request: ChangeRequest, actor) -> ChangeRequest:
    """Run one attempt of a request in ``applying`` (committed) and record how it ended."""
    client = flow_service()
    with client.recording() as exchanges:
        outcome = _attempt(client, change_request)
    http = [exchange.as_dict() for exchange in exchanges]
    return _record(change_request=change_request, actor=actor, outcome=outcome, http=http)


def _cache_store(change_request: ChangeRequest, document: dict) -> FlowSpec | None:
    """Update the catalog's cache (and version history) with a document flowadmin applied."""
    try:
        return flowspec_cache_store(
            sandbox_name=change_request.sandbox,
            document=document,
            origin="flowadmin",
            change_request_id=change_request.pk,
        )
    except (CatalogError, Sandbox.DoesNotExist):
        logger.warning("change request %s: the cache could not take the applied document", change_request.pk)
        return None


def _record(*, change_request: ChangeRequest, actor, outcome: _Outcome, http: list[dict]) -> ChangeRequest:
    """Second short transaction: the attempt's outcome on the request, its audit event, the cache."""
    now = timezone.now()
    mine = ChangeRequest.objects.filter(pk=change_request.pk, status=Status.APPLYING, attempts=change_request.attempts)
    with transaction.atomic():
        if outcome.status == "applied":
            spec = _cache_store(change_request, outcome.after)
            changes = {"status": Status.APPLIED, "applied_at": now, "remote_document": outcome.after, **NO_ERROR}
            if spec is not None:
                changes["flow_spec"] = spec
            event = {
                "action": "change.applied",
                "before": outcome.remote,
                "after": outcome.after,
                "patch": documents.json_patch(documents.put_body(outcome.remote), documents.put_body(outcome.after)),
            }
        elif outcome.status == "stale":
            # The remote is not the base any more: the cache takes it, so the next proposal starts from it.
            flowspec_remote_seen(sandbox_name=change_request.sandbox, document=outcome.remote, actor=actor)
            changes = {"status": Status.STALE, "remote_document": outcome.remote, **NO_ERROR}
            event = {
                "action": "change.stale",
                "before": documents.put_body(change_request.base_document),
                "after": outcome.remote,
            }
        elif outcome.status == "unknown":
            changes = {"remote_document": outcome.remote, **outcome.error}
            event = {"action": "change.apply_failed", "outcome": "unknown"}
        else:
            changes = {"status": Status.FAILED, "remote_document": outcome.remote, **outcome.error}
            event = {"action": "change.apply_failed", "outcome": "failure"}
            if outcome.after is not None:
                event.update(before=outcome.remote, after=outcome.after)
        recorded = mine.update(**changes)
        detail = outcome.detail
        if outcome.impact is not None:
            impact_store(outcome.impact)
            detail = f"{detail} {outcome.impact.text()}"
        if not recorded:
            logger.warning("change request %s was settled by someone else during its apply", change_request.pk)
            detail = f"{detail} (The request had been settled meanwhile; its state was left as it was.)"
        audit(change_request, actor=actor, http=http, detail=detail, **event)
        result = fresh(change_request)
        if recorded and result.status in (Status.APPLIED, Status.FAILED, Status.STALE):
            notifications.notify_decided(result)
    return result


# --- reconcile ---------------------------------------------------------------------------------
def _grace() -> timedelta:
    return timedelta(seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS)


def change_request_reconcile(*, change_request: ChangeRequest, actor=None) -> ChangeRequest:
    """Settle a request left ``applying`` by reading the remote document.

    ``applied`` when the document carries the change (the cache is updated too), ``failed``
    otherwise; audited as ``change.reconciled`` either way. A request whose attempt started less
    than ``FLOWADMIN_APPLY_GRACE_SECONDS`` ago may still be running and is refused
    (`ChangeRequestConflict`); so is one whose document cannot be read.
    """
    current = fresh(change_request)
    if current.status != Status.APPLYING:
        return current
    if current.apply_started_at is not None and timezone.now() - current.apply_started_at < _grace():
        raise ChangeRequestConflict(
            APPLY_IN_PROGRESS.format(pk=current.pk, seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS),
            change_request=current,
        )
    client = flow_service()
    exchanges: list = []
    try:
        with client.recording() as exchanges:
            remote = client.get_flow_spec(current.sandbox, current.spec_id)
    except FlowServiceError as error:
        raise ChangeRequestConflict(
            RECONCILE_READ_FAILED.format(pk=current.pk, error=error), change_request=current
        ) from None
    http = [exchange.as_dict() for exchange in exchanges]
    applied = carries_change(current, remote)
    mine = ChangeRequest.objects.filter(pk=current.pk, status=Status.APPLYING, attempts=current.attempts)
    with transaction.atomic():
        if applied:
            spec = _cache_store(current, remote)
            changes = {"status": Status.APPLIED, "applied_at": timezone.now(), "remote_document": remote, **NO_ERROR}
            if spec is not None:
                changes["flow_spec"] = spec
            detail = "Settled as applied: the remote document carries the change."
        else:
            changes = {
                "status": Status.FAILED,
                "remote_document": remote,
                **own_error(CODE_NOT_APPLIED, TITLE_NOT_APPLIED, NOT_APPLIED_DETAIL),
            }
            detail = "Settled as failed: the remote document does not carry the change."
        if not mine.update(**changes):
            return fresh(current)  # settled meanwhile by the attempt itself or another reconcile
        audit(
            current,
            action="change.reconciled",
            actor=actor,
            outcome="success" if applied else "failure",
            after=remote,
            http=http,
            detail=detail,
        )
        result = fresh(current)
        notifications.notify_decided(result)
    return result


@dataclass(frozen=True)
class ReconcileResult:
    change_request: ChangeRequest
    error: str = ""


def change_requests_reconcile(*, actor=None) -> list[ReconcileResult]:
    """Settle every request left ``applying`` for longer than the grace period (`manage.py reconcile_changes`)."""
    cutoff = timezone.now() - _grace()
    candidates = ChangeRequest.objects.filter(status=Status.APPLYING).filter(
        Q(apply_started_at__lte=cutoff) | Q(apply_started_at__isnull=True)
    )
    results = []
    for candidate in candidates.order_by("apply_started_at", "pk"):
        try:
            results.append(ReconcileResult(change_request_reconcile(change_request=candidate, actor=actor)))
        except ChangeRequestError as error:
            results.append(ReconcileResult(fresh(candidate), error=str(error)))
    return results
