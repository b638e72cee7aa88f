"""Proposing a change request, and its author editing it while it is pending."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction

from flowadmin import documents
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes import lookups, notifications, policy, selectors
from flowadmin.changes.common import audit, change_names, conflict, describe, dismissed_text, fresh, username
from flowadmin.changes.errors import ChangeRequestConflict, ProposalError
from flowadmin.changes.ids import ids_check, ids_text
from flowadmin.changes.impact import impact_check
from flowadmin.changes.messages import (
    EMPTY_NEEDS_CONFIRMATION,
    IMPACT_CHANGED,
    IMPACT_NOT_ACKNOWLEDGED,
    INVALID_IDS,
    NOTHING_CHANGES,
    OPEN_REQUEST_EXISTS,
    REASON_REQUIRED,
    SPEC_GONE,
)
from flowadmin.changes.models import ChangeRequest, change_digest

Status = ChangeRequest.Status


def revising_text(change_request: ChangeRequest) -> str:
    return f" (revising #{change_request.revised_from_id})" if change_request.revised_from_id else ""


def impact_acknowledged(*, sandbox: str, spec_id: str, removed, acknowledged: int | None, change_request=None) -> dict:
    """The request's impact fields: the dependent dataflows of the removal as read now (or kept for a
    minute). Enabled ones need the author's acknowledgement of exactly that many dataflows, else
    `ProposalError`. A reading that failed is kept as it is: the apply waits until one succeeds."""
    impact = impact_check(sandbox=sandbox, spec_id=spec_id, removed=list(removed))
    if impact is None:
        return {"impact": None, "impact_enabled": 0}
    if impact.ok and impact.guarded and acknowledged != len(impact.dataflows):
        count = len(impact.dataflows)
        if acknowledged:
            message = IMPACT_CHANGED.format(count=count, acknowledged=acknowledged)
        else:
            names = selectors.connection_spec_names(sandbox=sandbox)
            what = " and ".join(names.get(item) or item for item in impact.removed)
            enabled = len(impact.enabled)
            message = IMPACT_NOT_ACKNOWLEDGED.format(
                what=what, enabled=enabled, plural="s" if enabled != 1 else "", sandbox=sandbox, count=count
            )
        raise ProposalError(message, change_request=change_request)
    return {"impact": impact.as_dict(), "impact_enabled": len(impact.enabled) if impact.ok else 0}


def change_request_propose(
    *,
    flow_spec: FlowSpec,
    source_ids: Sequence[str],
    reason: str,
    author,
    confirm_empty: bool = False,
    notify: bool = True,
    revised_from: ChangeRequest | None = None,
    acknowledged: int | None = None,
) -> ChangeRequest:
    """Create a ``pending`` request to give ``flow_spec`` the list ``source_ids``.

    The base is the cached document at this moment. The ids are checked again here (`ids.ids_check`:
    UUIDs, no duplicates, added ids known to the sandbox and not used by another flow spec; an added
    id the cache lacks is looked up in the sandbox's Flow Service first, `lookups`). Raises
    `ProposalError` (with ``problems`` per line, or the blocking open request) or
    `ChangeRequestForbidden`. ``notify=False`` leaves telling the approvers to the caller (a rollout
    tells them once for all its steps). ``revised_from``: the rejected or withdrawn request this one
    revises (linked both ways on the pages). ``acknowledged``: how many dependent dataflows the author
    said they checked; a removal that enabled dataflows use needs exactly their number
    (`impact_acknowledged`).
    """
    policy.check_proposer(author)
    reason = (reason or "").strip()
    if not reason:
        raise ProposalError(REASON_REQUIRED)
    spec = FlowSpec.objects.select_related("sandbox").get(pk=flow_spec.pk)
    base = spec.document
    text = ids_text(source_ids)
    parsed = ids_check(text, context=lookups.id_context_looked_up(flow_spec=spec, text=text))
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
    impact = impact_acknowledged(sandbox=sandbox, spec_id=spec_id, removed=parsed.removed, acknowledged=acknowledged)
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
                author_username=username(author),
                revised_from=revised_from if revised_from is not None and revised_from.spec_id == spec_id else None,
                digest=change_digest(
                    sandbox=sandbox, spec_id=spec_id, base_hash=base_hash, added=parsed.added, removed=parsed.removed
                ),
                **impact,
            )
            audit(
                change_request,
                action="change.proposed",
                actor=author,
                before=documents.put_body(base),
                after=documents.put_body(proposed),
                detail=f"Proposed{revising_text(change_request)}: "
                f"{describe(parsed.added, parsed.removed, change_names(parsed.added, parsed.removed))}. "
                f"Reason: {reason}",
                search_also=[*parsed.added, *parsed.removed],
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


def change_request_edit(
    *,
    change_request: ChangeRequest,
    actor,
    source_ids: Sequence[str],
    reason: str,
    confirm_empty: bool = False,
    acknowledged: int | None = None,
) -> ChangeRequest:
    """The author changes a pending request's ids or reason, on the flow spec as cached now.

    The request keeps its number; its digest changes, so the approvals given so far are dismissed
    (and the audit event says how many). The same checks as a proposal apply."""
    policy.check_editor(actor, change_request)
    reason = (reason or "").strip()
    if not reason:
        raise ProposalError(REASON_REQUIRED, change_request=change_request)
    spec = (
        FlowSpec.objects.select_related("sandbox")
        .filter(sandbox__name=change_request.sandbox, spec_id=change_request.spec_id)
        .first()
    )
    if spec is None:
        raise ChangeRequestConflict(SPEC_GONE, change_request=change_request)
    base = spec.document
    text = ids_text(source_ids)
    parsed = ids_check(text, context=lookups.id_context_looked_up(flow_spec=spec, text=text))
    if not parsed.ok:
        raise ProposalError(INVALID_IDS, problems=parsed.problems, change_request=change_request)
    if not parsed.changes_anything:
        raise ProposalError(NOTHING_CHANGES, change_request=change_request)
    if not parsed.ids and not confirm_empty:
        raise ProposalError(EMPTY_NEEDS_CONFIRMATION, change_request=change_request)
    impact = impact_acknowledged(
        sandbox=change_request.sandbox,
        spec_id=change_request.spec_id,
        removed=parsed.removed,
        acknowledged=acknowledged,
        change_request=change_request,
    )
    before = fresh(change_request)
    proposed = documents.with_source_ids(base, parsed.ids)
    base_hash = documents.content_hash(base)
    digest = change_digest(
        sandbox=before.sandbox, spec_id=before.spec_id, base_hash=base_hash, added=parsed.added, removed=parsed.removed
    )
    with transaction.atomic():
        edited = ChangeRequest.objects.filter(pk=before.pk, status=Status.PENDING, digest=before.digest).update(
            flow_spec=spec,
            base_hash=base_hash,
            base_document=base,
            proposed_document=proposed,
            added_ids=list(parsed.added),
            removed_ids=list(parsed.removed),
            reason=reason,
            digest=digest,
            **impact,
        )
        if not edited:
            raise conflict(before, policy.NOT_EDITABLE)
        dismissed = policy.dismiss_approvals(before, why="edited")
        audit(
            before,
            action="change.edited",
            actor=actor,
            before=documents.put_body(before.proposed_document),
            after=documents.put_body(proposed),
            detail=f"Edited: {describe(parsed.added, parsed.removed, change_names(parsed.added, parsed.removed))}. "
            f"Reason: {reason}.{dismissed_text(dismissed)}",
            search_also=[*parsed.added, *parsed.removed],
        )
    return fresh(before)
