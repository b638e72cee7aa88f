"""Writes of change requests: propose, decide, apply (exactly once), reconcile, rebase.

Rules kept here (DESIGN.md rules 1 to 5):

* an approval moves ``pending -> approved -> applying`` with conditional UPDATEs in one short
  transaction, so of two approvers clicking together exactly one goes on to the PUT;
* no database transaction is open during an HTTP call: commit ``applying``, call, then record the
  outcome and its audit event in a second short transaction;
* the PUT body is the document *just re-read*, minus its metadata, with only
  ``sourceConnectionSpecIds`` changed; when the re-read document is not the request's base any more,
  nothing is sent and the request becomes ``stale``;
* a PUT whose answer was lost leaves the request ``applying`` until `change_request_reconcile`
  reads the document back and settles it;
* every step writes its audit event explicitly; refusals of forbidden actions (four eyes, not the
  author) are recorded as failure events, nothing else changes;
* a request that is a step of a rollout (``change_request.rollout_step``, the one-to-one that
  `flowadmin.rollouts` adds) is decided only through that rollout: the rollout passes itself as
  ``rollout=`` to the same functions, anyone else is refused (`ROLLOUT_STEP`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from flowadmin.accounts.roles import APPROVE_CHANGE, PROPOSE_CHANGE
from flowadmin.audit.services import audit_record
from flowadmin.catalog.models import FlowSpec, Sandbox
from flowadmin.catalog.services import CatalogError, flowspec_cache_store
from flowadmin.changes import notifications, selectors
from flowadmin.changes.ids import ids_apply, ids_check, ids_text
from flowadmin.changes.models import ChangeRequest, change_digest
from flowadmin.flowservice import FlowServiceError, OutcomeUnknownError, documents, get_client

logger = logging.getLogger("flowadmin.changes")
Status = ChangeRequest.Status

# --- messages (tests import these) -------------------------------------------------------------
NOT_PROPOSER = "Proposing changes needs the Onboarding staff role."
NOT_APPROVER = "Approving, rejecting and retrying change requests needs the Approvers role."
FOUR_EYES = "You cannot decide your own change request: another approver must review it (four-eyes rule)."
NOT_AUTHOR = "Only the author of a change request can withdraw it."
NOT_REBASER = "Only the author of a change request, or onboarding staff, can rebase it."
DIGEST_MISMATCH = (
    "This approval does not match the change request (its ids or base differ from what was reviewed): "
    "nothing was sent. Reload the page and review it again."
)
ALREADY_DECIDED = "Change request #{pk} is {status} already: nothing was done."
REASON_REQUIRED = "Say why this change is needed."
COMMENT_REQUIRED = "Rejecting needs a comment that tells the author why."
INVALID_IDS = "Some lines of the id list are not valid: see the messages beside them."
NOTHING_CHANGES = "This proposal changes nothing: it adds and removes no connection spec id."
EMPTY_NEEDS_CONFIRMATION = "The list is empty: confirm that the flow spec should list no source connection spec at all."
OPEN_REQUEST_EXISTS = (
    "Change request #{pk} is already open for this flow spec: it must be decided (or withdrawn by its author) "
    "before another change can be proposed."
)
NOT_RETRYABLE = "Only a failed change request can be retried; #{pk} is {status}."
OTHER_REQUEST_OPEN = "Another change request (#{pk}) is open for this flow spec now: decide that one instead."
APPLY_IN_PROGRESS = (
    "Change request #{pk} is being applied right now (started less than {seconds} s ago): "
    "wait for it to finish, then check again."
)
RECONCILE_READ_FAILED = "Could not read the flow spec to settle change request #{pk}: {error}"
NOT_REBASABLE = "Only a stale change request that was not rebased yet can be rebased; #{pk} is {status}."
REBASE_NOTHING_LEFT = (
    "The current remote document already has this change (its ids are added or removed already): "
    "rebasing would change nothing. Withdraw the request instead."
)
REBASE_INVALID = "The change no longer applies cleanly to the current remote document: {problems}"
ROLLOUT_STEP = (
    "Change request #{pk} is a step of rollout #{rollout}: it is approved, applied, rejected and withdrawn "
    "there, together with the rollout's other sandboxes."
)
NOT_ROLLOUT_STEP = "Change request #{pk} is not a step of rollout #{rollout}."

# Errors flowadmin records on a request itself (no remote error to quote).
TITLE_SCHEMA_INVALID = "Document fails the flow spec schema"
CODE_SCHEMA_INVALID = "schema-invalid"
TITLE_VERIFICATION = "Change not found after the PUT"
CODE_VERIFICATION = "verification-failed"
ANSWER_MISMATCH = "The PUT was answered with sourceConnectionSpecIds {found}, not the expected {expected}."
READBACK_MISMATCH = "Reading the flow spec back gave sourceConnectionSpecIds {found}, not the expected {expected}."
TITLE_NOT_APPLIED = "Not applied"
CODE_NOT_APPLIED = "not-applied"
NOT_APPLIED_DETAIL = "Reading the flow spec back showed that the PUT did not take effect; it can be retried."

MAX_ERROR_CODE = 64
MAX_ERROR_TITLE = 255
MAX_REQUEST_ID = 255


class ChangeRequestError(Exception):
    """A change-request action that cannot be done; the message is one of this module's constants."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), change_request: ChangeRequest | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        self.change_request = change_request  # e.g. the open request that blocks a proposal

    def __str__(self) -> str:
        return self.message


class ChangeRequestForbidden(ChangeRequestError):
    """The actor may not do this (whatever the page showed them): answered with 403."""


class ChangeRequestConflict(ChangeRequestError):
    """The request's state does not allow it (any more): decided already, being applied, ..."""


class ProposalError(ChangeRequestError):
    """A proposal that cannot become a change request as given."""


# --- helpers -------------------------------------------------------------------------------------
def _username(user) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def _fresh(change_request: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_related("author", "reviewer").get(pk=change_request.pk)


def _audit(change_request: ChangeRequest, *, action: str, actor=None, **fields) -> None:
    audit_record(
        action=action,
        actor=actor,
        sandbox=change_request.sandbox,
        spec_id=change_request.spec_id,
        change_request_id=change_request.pk,
        **fields,
    )


def _refuse(change_request: ChangeRequest, *, action: str, actor, message: str) -> ChangeRequestForbidden:
    """Record a refused attempt as a failure event and return the error to raise."""
    _audit(change_request, action=action, actor=actor, outcome="failure", detail=f"Refused: {message}")
    return ChangeRequestForbidden(message, change_request=change_request)


def _require_approver(change_request: ChangeRequest, *, action: str, reviewer) -> None:
    if not getattr(reviewer, "is_authenticated", False) or not reviewer.has_perm(APPROVE_CHANGE):
        raise _refuse(change_request, action=action, actor=reviewer, message=NOT_APPROVER)
    if change_request.author_id is not None and reviewer.pk == change_request.author_id:
        raise _refuse(change_request, action=action, actor=reviewer, message=FOUR_EYES)


def _require_owner(change_request: ChangeRequest, *, rollout, action: str, actor) -> None:
    """Refuse a step of a rollout decided from outside it, and a rollout acting on a request it does not own."""
    step = getattr(change_request, "rollout_step", None)  # None when the request is no rollout's step
    owner = getattr(step, "rollout_id", None)
    given = getattr(rollout, "pk", None)
    if owner == given:
        return
    if owner is not None:
        message = ROLLOUT_STEP.format(pk=change_request.pk, rollout=owner)
    else:
        message = NOT_ROLLOUT_STEP.format(pk=change_request.pk, rollout=given)
    raise _refuse(change_request, action=action, actor=actor, message=message)


def _conflict(change_request: ChangeRequest, template: str = ALREADY_DECIDED) -> ChangeRequestConflict:
    current = ChangeRequest.objects.filter(pk=change_request.pk).values_list("status", flat=True).first()
    return ChangeRequestConflict(
        template.format(pk=change_request.pk, status=current or "gone"), change_request=change_request
    )


def _describe(added: Sequence[str], removed: Sequence[str]) -> str:
    parts = []
    if added:
        parts.append("adds " + ", ".join(added))
    if removed:
        parts.append("removes " + ", ".join(removed))
    return "; ".join(parts) or "changes nothing"


def _normalised_ids(document: dict | None) -> list[str]:
    return [spec_id.strip().lower() for spec_id in documents.source_ids(document or {}) if isinstance(spec_id, str)]


def _carries_change(change_request: ChangeRequest, document: dict) -> bool:
    """The document has every id the request adds and none it removes."""
    ids = set(_normalised_ids(document))
    return all(spec_id in ids for spec_id in change_request.added_ids) and not any(
        spec_id in ids for spec_id in change_request.removed_ids
    )


def _error_fields(error: FlowServiceError) -> dict[str, Any]:
    return {
        "error_status": error.status,
        "error_code": (error.code or "")[:MAX_ERROR_CODE],
        "error_title": (error.title or "")[:MAX_ERROR_TITLE],
        "error_detail": error.detail or "",
        "error_request_id": (error.request_id or "")[:MAX_REQUEST_ID],
    }


NO_ERROR = {"error_status": None, "error_code": "", "error_title": "", "error_detail": "", "error_request_id": ""}


def _own_error(code: str, title: str, detail: str) -> dict[str, Any]:
    return {**NO_ERROR, "error_code": code, "error_title": title, "error_detail": detail}


# --- propose -----------------------------------------------------------------------------------
def change_request_propose(
    *,
    flow_spec: FlowSpec,
    source_ids: Sequence[str],
    reason: str,
    author,
    confirm_empty: bool = False,
    notify: bool = True,
) -> ChangeRequest:
    """Create a ``pending`` request to give ``flow_spec`` the list ``source_ids``.

    The base is the cached document at this moment. The ids are checked again here (`ids.ids_check`:
    UUIDs, no duplicates, added ids known to the sandbox and not used by another flow spec). Raises
    `ProposalError` (with ``problems`` per line, or the blocking open request) or
    `ChangeRequestForbidden`. ``notify=False`` leaves telling the approvers to the caller (a rollout
    tells them once for all its steps).
    """
    if not getattr(author, "is_authenticated", False) or not author.has_perm(PROPOSE_CHANGE):
        raise ChangeRequestForbidden(NOT_PROPOSER)
    reason = (reason or "").strip()
    if not reason:
        raise ProposalError(REASON_REQUIRED)
    spec = FlowSpec.objects.select_related("sandbox").get(pk=flow_spec.pk)
    base = spec.document
    parsed = ids_check(ids_text(source_ids), context=selectors.id_context(flow_spec=spec))
    if not parsed.ok:
        raise ProposalError(INVALID_IDS, problems=parsed.problems)
    if not parsed.changes_anything:
        raise ProposalError(NOTHING_CHANGES)
    if not parsed.ids and not confirm_empty:
        raise ProposalError(EMPTY_NEEDS_CONFIRMATION)
    sandbox, spec_id = spec.sandbox.name, spec.spec_id
    existing = selectors.change_request_open_for(sandbox=sandbox, spec_id=spec_id)
    if existing is not None:
        raise ProposalError(OPEN_REQUEST_EXISTS.format(pk=existing.pk), change_request=existing)
    proposed = documents.with_source_ids(base, parsed.ids)
    base_hash = documents.content_hash(base)
    try:
        with transaction.atomic():
            change_request = ChangeRequest.objects.create(
                sandbox=sandbox,
                spec_id=spec_id,
                flow_spec=spec,
                base_hash=base_hash,
                base_document=base,
                proposed_document=proposed,
                added_ids=list(parsed.added),
                removed_ids=list(parsed.removed),
                reason=reason,
                author=author,
                author_username=_username(author),
                digest=change_digest(
                    sandbox=sandbox, spec_id=spec_id, base_hash=base_hash, added=parsed.added, removed=parsed.removed
                ),
            )
            _audit(
                change_request,
                action="change.proposed",
                actor=author,
                before=documents.put_body(base),
                after=documents.put_body(proposed),
                detail=f"Proposed: {_describe(parsed.added, parsed.removed)}. Reason: {reason}",
            )
            if notify:
                notifications.notify_proposed(change_request)
    except IntegrityError:
        # Someone else's proposal for the same flow spec won the race (the partial unique index).
        existing = selectors.change_request_open_for(sandbox=sandbox, spec_id=spec_id)
        if existing is None:
            raise
        raise ProposalError(OPEN_REQUEST_EXISTS.format(pk=existing.pk), change_request=existing) from None
    return change_request


# --- decide ------------------------------------------------------------------------------------
def _decidable_q() -> Q:
    return Q(status=Status.PENDING) | Q(status=Status.STALE, superseded_at__isnull=True)


def change_request_withdraw(*, change_request: ChangeRequest, actor, rollout=None) -> ChangeRequest:
    """The author takes back a pending (or stale) request."""
    if change_request.author_id is None or getattr(actor, "pk", None) != change_request.author_id:
        raise _refuse(change_request, action="change.withdrawn", actor=actor, message=NOT_AUTHOR)
    _require_owner(change_request, rollout=rollout, action="change.withdrawn", actor=actor)
    with transaction.atomic():
        updated = ChangeRequest.objects.filter(_decidable_q(), pk=change_request.pk).update(
            status=Status.WITHDRAWN, decided_at=timezone.now()
        )
        if not updated:
            raise _conflict(change_request)
        _audit(change_request, action="change.withdrawn", actor=actor, detail="Withdrawn by its author.")
    return _fresh(change_request)


def change_request_reject(*, change_request: ChangeRequest, reviewer, comment: str, rollout=None) -> ChangeRequest:
    """An approver (never the author) rejects a pending (or stale) request, saying why."""
    _require_approver(change_request, action="change.rejected", reviewer=reviewer)
    _require_owner(change_request, rollout=rollout, action="change.rejected", actor=reviewer)
    comment = (comment or "").strip()
    if not comment:
        raise ChangeRequestError(COMMENT_REQUIRED, change_request=change_request)
    with transaction.atomic():
        updated = ChangeRequest.objects.filter(_decidable_q(), pk=change_request.pk).update(
            status=Status.REJECTED,
            reviewer=reviewer,
            reviewer_username=_username(reviewer),
            review_comment=comment,
            decided_at=timezone.now(),
        )
        if not updated:
            raise _conflict(change_request)
        _audit(change_request, action="change.rejected", actor=reviewer, detail=f"Rejected: {comment}")
        decided = _fresh(change_request)
        notifications.notify_decided(decided)
    return decided


def change_request_approve(*, change_request: ChangeRequest, reviewer, digest: str, rollout=None) -> ChangeRequest:
    """Approve a pending request and apply it at once (see the module docstring).

    ``digest`` is what the reviewed page carried: the approval is bound to exactly that change.
    Returns the request as the apply left it: applied, failed, stale, or applying (outcome unknown).
    A rollout applies its steps through here (``rollout=``) once its own approvals allow it.
    """
    _require_approver(change_request, action="change.approved", reviewer=reviewer)
    _require_owner(change_request, rollout=rollout, action="change.approved", actor=reviewer)
    if digest != change_request.digest:
        raise _refuse(change_request, action="change.approved", actor=reviewer, message=DIGEST_MISMATCH)
    now = timezone.now()
    with transaction.atomic():
        approved = ChangeRequest.objects.filter(pk=change_request.pk, status=Status.PENDING, digest=digest).update(
            status=Status.APPROVED, reviewer=reviewer, reviewer_username=_username(reviewer), decided_at=now
        )
        if not approved:
            raise _conflict(change_request)
        approved_in = f" as a step of rollout #{rollout.pk}" if rollout is not None else ""
        _audit(
            change_request, action="change.approved", actor=reviewer, detail=f"Approved{approved_in}; applying it now."
        )
        ChangeRequest.objects.filter(pk=change_request.pk, status=Status.APPROVED).update(
            status=Status.APPLYING, apply_started_at=now, attempts=F("attempts") + 1, **NO_ERROR
        )
        started = _fresh(change_request)
        _audit(started, action="change.apply_started", actor=reviewer, detail=f"Attempt {started.attempts}.")
    return _apply(change_request=started, actor=reviewer)


def change_request_retry(*, change_request: ChangeRequest, reviewer, rollout=None) -> ChangeRequest:
    """Apply a failed request again, after a fresh check (an attempt left ``applying`` is settled first)."""
    _require_approver(change_request, action="change.apply_started", reviewer=reviewer)
    _require_owner(change_request, rollout=rollout, action="change.apply_started", actor=reviewer)
    current = _fresh(change_request)
    if current.status == Status.APPLYING:
        current = change_request_reconcile(change_request=current, actor=reviewer)
        if current.status != Status.FAILED:
            return current
    if current.status != Status.FAILED:
        raise ChangeRequestConflict(NOT_RETRYABLE.format(pk=current.pk, status=current.status), change_request=current)
    try:
        with transaction.atomic():
            started = ChangeRequest.objects.filter(pk=current.pk, status=Status.FAILED).update(
                status=Status.APPLYING, apply_started_at=timezone.now(), attempts=F("attempts") + 1, **NO_ERROR
            )
            if not started:
                raise _conflict(current, NOT_RETRYABLE)
            current = _fresh(current)
            _audit(
                current,
                action="change.apply_started",
                actor=reviewer,
                detail=f"Retry: attempt {current.attempts}.",
            )
    except IntegrityError:
        other = selectors.change_request_open_for(sandbox=current.sandbox, spec_id=current.spec_id)
        raise ChangeRequestConflict(
            OTHER_REQUEST_OPEN.format(pk=other.pk if other else "?"), change_request=other
        ) from None
    return _apply(change_request=current, actor=reviewer)


# --- apply -------------------------------------------------------------------------------------
@dataclass
class _Outcome:
    status: str  # applied | failed | stale | unknown
    remote: dict | None = None  # the document read just before the PUT
    after: dict | None = None  # the document after it (read back, or the PUT's answer)
    error: dict[str, Any] = field(default_factory=lambda: dict(NO_ERROR))
    detail: str = ""


def _attempt(client, change_request: ChangeRequest) -> _Outcome:
    """Re-read, compare with the base, validate, PUT, verify. Only HTTP here, no database."""
    sandbox, spec_id = change_request.sandbox, change_request.spec_id
    try:
        remote = client.get_flow_spec(sandbox, spec_id)
    except FlowServiceError as error:
        return _Outcome("failed", error=_error_fields(error), detail=f"Could not read the flow spec: {error}")
    if documents.content_hash(remote) != change_request.base_hash:
        return _Outcome(
            "stale",
            remote=remote,
            detail="The remote document changed since the request was made: nothing was sent.",
        )
    expected = _normalised_ids(change_request.proposed_document)
    body = documents.put_body(documents.with_source_ids(remote, expected))
    problems = documents.validate_document(body)
    if problems:
        detail = "; ".join(problems)
        return _Outcome(
            "failed",
            remote=remote,
            error=_own_error(CODE_SCHEMA_INVALID, TITLE_SCHEMA_INVALID, detail),
            detail=f"Nothing was sent: {detail}",
        )
    try:
        answer = client.put_flow_spec(sandbox, spec_id, body)
    except OutcomeUnknownError as error:
        return _Outcome("unknown", remote=remote, error=_error_fields(error), detail=str(error))
    except FlowServiceError as error:
        return _Outcome("failed", remote=remote, error=_error_fields(error), detail=f"The PUT failed: {error}")
    if _normalised_ids(answer) != expected:
        detail = ANSWER_MISMATCH.format(found=_normalised_ids(answer), expected=expected)
        return _Outcome(
            "failed",
            remote=remote,
            after=answer,
            error=_own_error(CODE_VERIFICATION, TITLE_VERIFICATION, detail),
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
    if _normalised_ids(readback) != expected:
        detail = READBACK_MISMATCH.format(found=_normalised_ids(readback), expected=expected)
        return _Outcome(
            "failed",
            remote=remote,
            after=readback,
            error=_own_error(CODE_VERIFICATION, TITLE_VERIFICATION, detail),
            detail=detail,
        )
    return _Outcome("applied", remote=remote, after=readback, detail="Applied and read back.")


def _apply(*, change_request: ChangeRequest, actor) -> ChangeRequest:
    """Run one attempt of a request in ``applying`` (committed) and record how it ended."""
    client = get_client()
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
        if not recorded:
            logger.warning("change request %s was settled by someone else during its apply", change_request.pk)
            detail = f"{detail} (The request had been settled meanwhile; its state was left as it was.)"
        _audit(change_request, actor=actor, http=http, detail=detail, **event)
        result = _fresh(change_request)
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
    current = _fresh(change_request)
    if current.status != Status.APPLYING:
        return current
    if current.apply_started_at is not None and timezone.now() - current.apply_started_at < _grace():
        raise ChangeRequestConflict(
            APPLY_IN_PROGRESS.format(pk=current.pk, seconds=settings.FLOWADMIN_APPLY_GRACE_SECONDS),
            change_request=current,
        )
    client = get_client()
    exchanges: list = []
    try:
        with client.recording() as exchanges:
            remote = client.get_flow_spec(current.sandbox, current.spec_id)
    except FlowServiceError as error:
        raise ChangeRequestConflict(
            RECONCILE_READ_FAILED.format(pk=current.pk, error=error), change_request=current
        ) from None
    http = [exchange.as_dict() for exchange in exchanges]
    applied = _carries_change(current, remote)
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
                **_own_error(CODE_NOT_APPLIED, TITLE_NOT_APPLIED, NOT_APPLIED_DETAIL),
            }
            detail = "Settled as failed: the remote document does not carry the change."
        if not mine.update(**changes):
            return _fresh(current)  # settled meanwhile by the attempt itself or another reconcile
        _audit(
            current,
            action="change.reconciled",
            actor=actor,
            outcome="success" if applied else "failure",
            after=remote,
            http=http,
            detail=detail,
        )
        result = _fresh(current)
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
            results.append(ReconcileResult(_fresh(candidate), error=str(error)))
    return results


# --- rebase ------------------------------------------------------------------------------------
def change_request_rebase(*, change_request: ChangeRequest, actor, rollout=None) -> ChangeRequest:
    """Turn a stale request into a new pending one whose base is the remote document it met.

    The same ids are added and removed (those the remote already has, or already lacks, drop out);
    the author stays the original author, so the four-eyes rule still binds them. The old request
    links to the new one (``rebased_into``) and stops counting as open.
    """
    is_author = change_request.author_id is not None and getattr(actor, "pk", None) == change_request.author_id
    if not getattr(actor, "is_authenticated", False) or not (is_author or actor.has_perm(PROPOSE_CHANGE)):
        raise _refuse(change_request, action="change.rebased", actor=actor, message=NOT_REBASER)
    _require_owner(change_request, rollout=rollout, action="change.rebased", actor=actor)
    current = _fresh(change_request)
    remote = current.remote_document
    if current.status != Status.STALE or current.superseded_at is not None or not isinstance(remote, dict):
        raise ChangeRequestConflict(NOT_REBASABLE.format(pk=current.pk, status=current.status), change_request=current)
    remote_ids = documents.source_ids(remote)
    remote_set = set(_normalised_ids(remote))
    added = [spec_id for spec_id in current.added_ids if spec_id not in remote_set]
    removed = [spec_id for spec_id in current.removed_ids if spec_id in remote_set]
    if not added and not removed:
        raise ChangeRequestConflict(REBASE_NOTHING_LEFT, change_request=current)
    new_ids = ids_apply(remote_ids, added=added, removed=removed)
    spec = (
        FlowSpec.objects.select_related("sandbox")
        .filter(sandbox__name=current.sandbox, spec_id=current.spec_id)
        .first()
    )
    if spec is not None:
        parsed = ids_check(ids_text(new_ids), context=selectors.id_context(flow_spec=spec, current=remote_ids))
        if not parsed.ok:
            raise ChangeRequestConflict(
                REBASE_INVALID.format(problems=" ".join(parsed.problems)),
                problems=parsed.problems,
                change_request=current,
            )
    proposed = documents.with_source_ids(remote, new_ids)
    base_hash = documents.content_hash(remote)
    with transaction.atomic():
        superseded = ChangeRequest.objects.filter(
            pk=current.pk, status=Status.STALE, superseded_at__isnull=True
        ).update(superseded_at=timezone.now())
        if not superseded:
            raise _conflict(current, NOT_REBASABLE)
        rebased = ChangeRequest.objects.create(
            sandbox=current.sandbox,
            spec_id=current.spec_id,
            flow_spec=spec,
            base_hash=base_hash,
            base_document=remote,
            proposed_document=proposed,
            added_ids=added,
            removed_ids=removed,
            reason=current.reason,
            author=current.author,
            author_username=current.author_username,
            rebased_from=current,
            digest=change_digest(
                sandbox=current.sandbox, spec_id=current.spec_id, base_hash=base_hash, added=added, removed=removed
            ),
        )
        _audit(
            rebased,
            action="change.rebased",
            actor=actor,
            before=documents.put_body(remote),
            after=documents.put_body(proposed),
            detail=f"Rebased #{current.pk} onto the current remote document as #{rebased.pk}: "
            f"{_describe(added, removed)}.",
        )
        notifications.notify_proposed(rebased)
    return rebased


# --- check (reads only) ------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoteCheck:
    """Whether a request still applies to the remote document as it is now.

    ``state``: ``applies`` (remote hash equals the base hash), ``rebase`` (the remote changed but the
    id change still applies cleanly), ``done`` (the remote changed and already has the change or
    lacks what it removes) or ``error`` (the remote could not be read).
    """

    state: str
    remote_hash: str = ""
    diff: list = field(default_factory=list)
    error: dict | None = None
    checked_at: Any = None


def change_request_check(*, change_request: ChangeRequest) -> RemoteCheck:
    """Read the remote document and compare it with the request's base. Writes nothing, audits nothing."""
    now = timezone.now()
    try:
        remote = get_client().get_flow_spec(change_request.sandbox, change_request.spec_id)
    except FlowServiceError as error:
        return RemoteCheck(state="error", error=error.as_dict(), checked_at=now)
    remote_hash = documents.content_hash(remote)
    if remote_hash == change_request.base_hash:
        return RemoteCheck(state="applies", remote_hash=remote_hash, checked_at=now)
    diff = documents.line_diff(documents.put_body(change_request.base_document), documents.put_body(remote))
    remote_set = set(_normalised_ids(remote))
    still = any(spec_id not in remote_set for spec_id in change_request.added_ids) or any(
        spec_id in remote_set for spec_id in change_request.removed_ids
    )
    return RemoteCheck(state="rebase" if still else "done", remote_hash=remote_hash, diff=diff, checked_at=now)
