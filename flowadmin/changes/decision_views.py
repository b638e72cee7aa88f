"""Change request decisions: approve (with its confirmation for production), approve rebased, reject,
withdraw, retry and rebase. Each calls one service, which enforces the rules and audits a refusal;
`flowadmin.changes.views` has the pages these post from.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from flowadmin.changes import policy, selectors, services
from flowadmin.changes.forms import ApproveForm, RejectForm
from flowadmin.changes.models import ChangeRequest
from flowadmin.changes.views import (
    APPLIED,
    APPROVAL_RECORDED,
    FAILED,
    PAGES,
    REBASED,
    REBASED_APPROVED,
    REJECTED,
    STALE,
    UNKNOWN,
    WITHDRAWN,
    detail_context,
)


def _confirmation_needed(request, change_request: ChangeRequest, form: ApproveForm, *, rebased: bool) -> bool:
    """A production approval is confirmed first: in a dialog with JavaScript, on a page of its own
    without (only for someone the rule book lets approve: anyone else hears why not from the service)."""
    if form.cleaned_data["confirmed"] or not policy.comment_required(policy.requirement(change_request)):
        return False
    if rebased:
        return bool(policy.can_approve_rebased(request.user, change_request, clean=True))
    reviewed = request.POST.get("digest", "") == change_request.digest  # else the service refuses it, audited
    return reviewed and bool(policy.can_approve(request.user, change_request))


def _confirm_page(request, change_request: ChangeRequest, form: ApproveForm, *, action: str):
    context = {
        **detail_context(request, change_request),
        "confirm_form": form,
        "confirm_action": action,
    }
    return render(request, "changes/confirm_approve.html", context)


@require_POST
def approve(request, pk: int):
    change_request = selectors.change_request_get(pk=pk)
    form = ApproveForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"comment": "", "emergency": False, "confirmed": False}
    if form.is_valid() and _confirmation_needed(request, change_request, form, rebased=False):
        return _confirm_page(request, change_request, form, action=reverse("changes:approve", args=[pk]))
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_approve(
            change_request=change_request,
            reviewer=request.user,
            digest=request.POST.get("digest", ""),
            comment=data["comment"],
            emergency=data["emergency"],
        ),
        outcome=_tell_outcome,
    )


@require_POST
def approve_rebased(request, pk: int):
    """Approve the change rebased onto the remote document the check showed (its hash is posted)."""
    change_request = selectors.change_request_get(pk=pk)
    form = ApproveForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["remote_hash"]:
        messages.error(request, services.REMOTE_MOVED)
        return PAGES.to_detail(request, change_request)
    if _confirmation_needed(request, change_request, form, rebased=True):
        return _confirm_page(request, change_request, form, action=reverse("changes:approve_rebased", args=[pk]))
    data = form.cleaned_data
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_approve_rebased(
            change_request=change_request,
            reviewer=request.user,
            remote_hash=data["remote_hash"],
            comment=data["comment"],
            emergency=data["emergency"],
        ),
        success=lambda rebased: REBASED_APPROVED.format(old=pk, new=rebased.pk),
        outcome=_tell_outcome,
    )


def _tell_outcome(request, result: ChangeRequest) -> None:
    if result.status == ChangeRequest.Status.PENDING:
        count, needed = len(policy.approvals(result)), policy.requirement(result).count
        missing = max(needed - count, 1)
        plural, verb = ("s", "") if missing != 1 else ("", "s")
        text = APPROVAL_RECORDED.format(
            pk=result.pk, count=count, needed=needed, missing=missing, plural=plural, verb=verb
        )
        messages.info(request, text)
    elif result.status == ChangeRequest.Status.APPLIED:
        messages.success(request, APPLIED.format(pk=result.pk))
    elif result.status == ChangeRequest.Status.STALE:
        messages.warning(request, STALE.format(pk=result.pk))
    elif result.status == ChangeRequest.Status.APPLYING:
        messages.warning(request, UNKNOWN.format(pk=result.pk))
    else:
        error = result.error_title + (f": {result.error_detail}" if result.error_detail else "")
        if result.error_request_id:
            error += f" (request id {result.error_request_id})"
        messages.error(request, FAILED.format(pk=result.pk, error=error))


@require_POST
def reject(request, pk: int):
    change_request = selectors.change_request_get(pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return render(request, "changes/detail.html", detail_context(request, change_request, reject_form=form))
    comment = form.cleaned_data["comment"]
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_reject(change_request=change_request, reviewer=request.user, comment=comment),
        success=REJECTED.format(pk=pk),
    )


@require_POST
def withdraw(request, pk: int):
    change_request = selectors.change_request_get(pk=pk)
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_withdraw(change_request=change_request, actor=request.user),
        success=WITHDRAWN.format(pk=pk),
    )


@require_POST
def retry(request, pk: int):
    change_request = selectors.change_request_get(pk=pk)
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_retry(change_request=change_request, reviewer=request.user),
        outcome=_tell_outcome,
    )


@require_POST
def rebase(request, pk: int):
    """The new pending request replaces the stale one: its page is shown."""
    change_request = selectors.change_request_get(pk=pk)
    return PAGES.decide(
        request,
        change_request,
        lambda: services.change_request_rebase(change_request=change_request, actor=request.user),
        success=lambda rebased: REBASED.format(old=pk, new=rebased.pk),
    )
