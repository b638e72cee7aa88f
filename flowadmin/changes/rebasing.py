"""Rebasing a change request onto the remote document as it is now, and checking it against that."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from flowadmin import documents
from flowadmin.catalog.models import FlowSpec
from flowadmin.catalog.services import flowspec_remote_seen
from flowadmin.changes import notifications, policy, selectors
from flowadmin.changes.common import (
    audit,
    change_names,
    conflict,
    decidable_q,
    describe,
    dismissed_text,
    flow_service,
    fresh,
    normalised_ids,
)
from flowadmin.changes.errors import ChangeRequestConflict
from flowadmin.changes.ids import ids_apply, ids_check, ids_text
from flowadmin.changes.impact import impact_cached
from flowadmin.changes.messages import NOT_REBASABLE, REBASE_INVALID, REBASE_NOTHING_LEFT
from flowadmin.changes.models import ChangeRequest, change_digest
from flowadmin.flowservice import FlowServiceError

Status = ChangeRequest.Status


@dataclass(frozen=True)
class RebaseFit:
    """How a request's id change fits another document (the remote as it is now).

    ``clean``: every id it adds is absent there, every id it removes is listed, and the ids it adds
    pass the checks of a proposal: the change applies as reviewed. ``added``/``removed``: what is
    left of the change there (ids already added, or already gone, drop out); ``why``: what does not fit.
    """

    clean: bool
    added: list[str]
    removed: list[str]
    why: str = ""

    @property
    def nothing_left(self) -> bool:
        return not self.added and not self.removed


def rebase_fit(change_request: ChangeRequest, remote: dict) -> RebaseFit:
    remote_ids = documents.source_ids(remote)
    remote_set = set(normalised_ids(remote))
    added = [spec_id for spec_id in change_request.added_ids if spec_id not in remote_set]
    removed = [spec_id for spec_id in change_request.removed_ids if spec_id in remote_set]
    reasons = []
    there = [spec_id for spec_id in change_request.added_ids if spec_id in remote_set]
    gone = [spec_id for spec_id in change_request.removed_ids if spec_id not in remote_set]
    if there:
        reasons.append(f"{', '.join(there)} {'is' if len(there) == 1 else 'are'} listed already")
    if gone:
        reasons.append(f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} no longer listed")
    if added or removed:
        spec = (
            FlowSpec.objects.select_related("sandbox")
            .filter(sandbox__name=change_request.sandbox, spec_id=change_request.spec_id)
            .first()
        )
        if spec is not None:
            new_ids = ids_apply(remote_ids, added=added, removed=removed)
            context = selectors.id_context(flow_spec=spec, current=remote_ids)
            parsed = ids_check(ids_text(new_ids), context=context)
            reasons += parsed.problems
    return RebaseFit(clean=not reasons, added=added, removed=removed, why="; ".join(reasons))


def _impact_now(current: ChangeRequest, removed: list[str]) -> dict:
    """The rebased request's impact: the last reading of its removal (the apply that went stale read it),
    else the one it was proposed with. Whoever rebases has it reviewed again with these dataflows."""
    if not removed:
        return {"impact": None, "impact_enabled": 0}
    kept = impact_cached(sandbox=current.sandbox, spec_id=current.spec_id, removed=removed)
    if kept is None or not kept.ok:
        return {"impact": current.impact, "impact_enabled": current.impact_enabled}
    return {"impact": kept.as_dict(), "impact_enabled": len(kept.enabled)}


def rebase_onto(current: ChangeRequest, remote: dict, *, actor, added: list[str], removed: list[str]) -> ChangeRequest:
    """A new pending request with the same author and reason, based on ``remote``; ``current`` is
    superseded (stale, rebased) and its approvals dismissed."""
    proposed = documents.with_source_ids(remote, ids_apply(documents.source_ids(remote), added=added, removed=removed))
    base_hash = documents.content_hash(remote)
    spec = FlowSpec.objects.filter(sandbox__name=current.sandbox, spec_id=current.spec_id).first()
    impact = _impact_now(current, removed)
    now = timezone.now()
    with transaction.atomic():
        superseded = ChangeRequest.objects.filter(decidable_q(), pk=current.pk, digest=current.digest).update(
            status=Status.STALE, superseded_at=now, remote_document=remote
        )
        if not superseded:
            raise conflict(current, NOT_REBASABLE)
        dismissed = policy.dismiss_approvals(current, why="rebased")
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
            **impact,
            digest=change_digest(
                sandbox=current.sandbox, spec_id=current.spec_id, base_hash=base_hash, added=added, removed=removed
            ),
        )
        audit(
            rebased,
            action="change.rebased",
            actor=actor,
            before=documents.put_body(remote),
            after=documents.put_body(proposed),
            detail=f"Rebased #{current.pk} onto the current remote document as #{rebased.pk}: "
            f"{describe(added, removed, change_names(added, removed))}.{dismissed_text(dismissed)}",
            search_also=[*added, *removed],
        )
        notifications.notify_proposed(rebased)
    return rebased


def change_request_rebase(*, change_request: ChangeRequest, actor, rollout=None) -> ChangeRequest:
    """Turn a stale request into a new pending one whose base is the remote document it met.

    The same ids are added and removed (those the remote already has, or already lacks, drop out);
    the author stays the original author, so the four-eyes rule still binds them. The old request
    links to the new one (``rebased_into``), stops counting as open, and its approvals are dismissed.
    """
    policy.check_rebaser(actor, change_request, action="change.rebased", rollout=rollout)
    current = fresh(change_request)
    remote = current.remote_document
    if current.status != Status.STALE or current.superseded_at is not None or not isinstance(remote, dict):
        raise ChangeRequestConflict(NOT_REBASABLE.format(pk=current.pk, status=current.status), change_request=current)
    fit = rebase_fit(current, remote)
    if fit.nothing_left:
        raise ChangeRequestConflict(REBASE_NOTHING_LEFT, change_request=current)
    problems = [problem for problem in fit.why.split("; ") if problem and "listed" not in problem]
    if problems:
        raise ChangeRequestConflict(
            REBASE_INVALID.format(problems=" ".join(problems)), problems=problems, change_request=current
        )
    return rebase_onto(current, remote, actor=actor, added=fit.added, removed=fit.removed)


# --- check (reads only, but for the cache) -----------------------------------------------------
@dataclass(frozen=True)
class RemoteCheck:
    """Whether a request still applies to the remote document as it is now.

    ``state``: ``applies`` (remote hash equals the base hash), ``rebase`` (the remote changed and the
    id change applies to it cleanly: an approver may approve it rebased), ``partial`` (the remote
    changed and only part of the change still applies: the author decides), ``done`` (the remote
    already carries the whole change: nothing left to do) or ``error`` (the remote could not be read).
    ``diff``: base to remote; ``rebased_diff``: remote to the remote with the change (what an
    approval of the rebased change would send).
    """

    state: str
    remote_hash: str = ""
    diff: list = field(default_factory=list)
    rebased_diff: list = field(default_factory=list)
    why: str = ""
    error: dict | None = None
    checked_at: Any = None


def change_request_check(*, change_request: ChangeRequest, actor=None) -> RemoteCheck:
    """Read the remote document and compare it with the request's base. Writes nothing of the request;
    a remote document that differs from the cache goes into the cache and its history."""
    now = timezone.now()
    try:
        remote = flow_service().get_flow_spec(change_request.sandbox, change_request.spec_id)
    except FlowServiceError as error:
        return RemoteCheck(state="error", error=error.as_dict(), checked_at=now)
    flowspec_remote_seen(sandbox_name=change_request.sandbox, document=remote, actor=actor, read_at=now)
    remote_hash = documents.content_hash(remote)
    if remote_hash == change_request.base_hash:
        return RemoteCheck(state="applies", remote_hash=remote_hash, checked_at=now)
    remote_body = documents.put_body(remote)
    diff = documents.line_diff(documents.put_body(change_request.base_document), remote_body)
    fit = rebase_fit(change_request, remote)
    if fit.nothing_left:
        return RemoteCheck(state="done", remote_hash=remote_hash, diff=diff, why=fit.why, checked_at=now)
    if not fit.clean:
        return RemoteCheck(state="partial", remote_hash=remote_hash, diff=diff, why=fit.why, checked_at=now)
    new_ids = ids_apply(documents.source_ids(remote), added=fit.added, removed=fit.removed)
    rebased_diff = documents.line_diff(remote_body, documents.put_body(documents.with_source_ids(remote, new_ids)))
    return RemoteCheck(state="rebase", remote_hash=remote_hash, diff=diff, rebased_diff=rebased_diff, checked_at=now)
