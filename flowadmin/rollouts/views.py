"""Rollout pages: propose (form + live per-sandbox preview), the list, one rollout with its steps and
decisions, a step's live check, and the drift of a flow spec across sandboxes.

Every page needs a signed-in user (the login middleware); proposing needs `propose_change`,
approving, rejecting and resuming need `approve_change`. The rules themselves (never the author,
one approval each, production approvals, order) are enforced by the services whatever a page shows;
refusals answer 403 with a sentence. Every htmx endpoint also answers a plain request with the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from flowadmin import documents
from flowadmin.action_pages import ActionPages
from flowadmin.catalog.names import names_for
from flowadmin.changes import preview
from flowadmin.changes import selectors as changes_selectors
from flowadmin.changes import services as changes_services
from flowadmin.changes.forms import ApproveForm
from flowadmin.changes.impact import Impact
from flowadmin.changes.limits import live_preview
from flowadmin.changes.models import ChangeRequest
from flowadmin.pages import is_fragment, render_page_or_fragment, vary_on_htmx
from flowadmin.policy.rules import Requirement
from flowadmin.rollouts import plan, policy, selectors, services
from flowadmin.rollouts.forms import RejectForm, RolloutForm
from flowadmin.rollouts.models import Rollout, RolloutStep
from flowadmin.rollouts.plan_impacts import plan_rows

NEEDS_PROPOSE = policy.NOT_PROPOSER
NEEDS_APPROVE = policy.NOT_APPROVER
PROPOSED = "Rollout #{pk} was submitted for review."
APPROVED = "You approved rollout #{pk}."
APPLYING = "Rollout #{pk} is being applied in the background: this page follows it, sandbox by sandbox."
COMPLETED = "Rollout #{pk} is complete: every sandbox carries the change."
WAITING = "Rollout #{pk} applied what it could; {sandbox} waits for {missing} more approval{plural}."
STOPPED = "Rollout #{pk} stopped: {detail}"
REJECTED = "Rollout #{pk} was rejected."
WITHDRAWN = "Rollout #{pk} was withdrawn."
REBASED = "Step {position} was rebased onto the current remote document: the rollout needs its approvals again."
CHECKED_STATUSES = (
    ChangeRequest.Status.PENDING,
    ChangeRequest.Status.FAILED,
    ChangeRequest.Status.STALE,
    ChangeRequest.Status.APPLYING,
)
PAGE_SIZE = 50


# --- plumbing ------------------------------------------------------------------------------------
PAGES = ActionPages(
    refused_template="rollouts/refused.html",
    subject_name="rollout",
    detail_url="rollouts:detail",
    error=services.RolloutError,
    forbidden=services.RolloutForbidden,
)


# --- propose -------------------------------------------------------------------------------------
def _new_context(form: RolloutForm, *, submitted: bool, prefill: selectors.Prefill | None = None, error=None) -> dict:
    typed = bool(form.added or form.removed)
    steps = plan.rollout_plan(specs=form.chosen(), added=form.added, removed=form.removed) if typed else []
    return {
        "nothing_to_do": typed
        and not any(selectors.would_change(spec, form.added, form.removed) for spec in form.candidates),
        "form": form,
        "spec": form.candidates[0],
        "submitted": submitted,
        "typed": typed,
        "plan": steps,
        "plan_rows": plan_rows(steps),
        "prefill": prefill,
        "error": error,
        "approvals_by_tier": {
            "production": settings.FLOWADMIN_APPROVALS_PRODUCTION,
            "development": settings.FLOWADMIN_APPROVALS_DEVELOPMENT,
        },
    }


@require_http_methods(["GET", "POST"])
@PAGES.allowed_or_403(policy.can_propose)
def new(request):
    data = request.POST if request.method == "POST" else request.GET
    candidates = selectors.rollout_candidates_or_404(spec_id=data.get("spec_id", ""))
    if request.method == "GET":
        prefill = selectors.rollout_prefill(
            candidates=candidates,
            from_change_request=request.GET.get("from", ""),
            sandbox=request.GET.get("sandbox", ""),
            reference=request.GET.get("reference", ""),
        )
        form = RolloutForm(initial=prefill.initial, candidates=candidates)
        return render(request, "rollouts/new.html", _new_context(form, submitted=False, prefill=prefill))
    form = RolloutForm(request.POST, candidates=candidates)
    if not form.is_valid():
        return render(request, "rollouts/new.html", _new_context(form, submitted=True))
    try:
        rollout = services.rollout_propose(
            spec_id=candidates[0].spec_id,
            sandboxes=[spec.sandbox.name for spec in form.chosen()],
            added=form.added,
            removed=form.removed,
            reason=form.cleaned_data["reason"],
            author=request.user,
            source_change_request_id=form.cleaned_data.get("source_change_request"),
            acknowledge_impact=form.cleaned_data["acknowledge_impact"],
        )
    except services.RolloutForbidden as error:
        return PAGES.refused(request, error.message)
    except services.RolloutProposalError as error:
        return render(request, "rollouts/new.html", _new_context(form, submitted=True, error=error))
    messages.success(request, PROPOSED.format(pk=rollout.pk))
    return PAGES.to_detail(request, rollout)


@live_preview(heading="What will happen, sandbox by sandbox", heading_id="plan-heading", lists=2)
@require_POST
@PAGES.allowed_or_403(policy.can_propose)
def preview_view(request):
    """The per-sandbox preview: the fragment for htmx, the whole form page without. Saves nothing."""
    candidates = selectors.rollout_candidates_or_404(spec_id=request.POST.get("spec_id", ""))
    form = RolloutForm(request.POST, candidates=candidates)
    return render_page_or_fragment(request, "rollouts/new.html", "plan", _new_context(form, submitted=False))


# --- list ------------------------------------------------------------------------------------------
@require_GET
def rollout_list(request):
    show = selectors.show_choice(request.GET.get("show"))
    page = Paginator(selectors.rollout_list(user=request.user, show=show), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "rollouts/list.html", {"show": show, "choices": selectors.SHOW_CHOICES, "page": page})


# --- one rollout -----------------------------------------------------------------------------------
@dataclass
class StepView:
    """A step as the page shows it: its change, whether it is checked live, and the check once made."""

    step: RolloutStep
    change_request: ChangeRequest
    change: preview.DocumentChange | None
    impact: Impact | None  # the dataflows its removal affected when proposed
    needed: Requirement
    check_wanted: bool
    check: changes_services.RemoteCheck | None = None

    @property
    def impact_summary(self) -> str:
        if self.impact is None:
            return ""
        names = {ref.spec_id: ref.name for ref in self.change.removed} if self.change else {}
        return self.impact.summary(names)

    @property
    def stale_diff(self):
        cr = self.change_request
        if cr.status != ChangeRequest.Status.STALE or not isinstance(cr.remote_document, dict):
            return None
        return documents.line_diff(documents.put_body(cr.base_document), documents.put_body(cr.remote_document))


def _step_view(rollout: Rollout, step: RolloutStep, *, check=None, with_change: bool = True) -> StepView:
    cr = step.change_request
    change = None
    if with_change:
        change = preview.document_change(
            base=cr.base_document,
            proposed=cr.proposed_document,
            added=cr.added_ids,
            removed=cr.removed_ids,
            names=changes_selectors.connection_spec_names(sandbox=step.sandbox),
        )
    return StepView(
        step=step,
        change_request=cr,
        impact=Impact.from_dict(cr.impact) if with_change else None,
        change=change,
        needed=policy.step_requirement(step),
        check_wanted=rollout.is_open and cr.status in CHECKED_STATUSES,
        check=check,
    )


def _detail_context(request, rollout: Rollout, *, checked: RolloutStep | None = None, check=None, **extra) -> dict:
    user = request.user
    steps = selectors.rollout_steps(rollout=rollout, documents_too=True)
    views = [
        _step_view(rollout, step, check=check if checked is not None and step.pk == checked.pk else None)
        for step in steps
    ]
    next_step = selectors.rollout_next_step(steps=steps)
    approvals = policy.approvals(rollout)
    next_view = next((view for view in views if next_step is not None and view.step.pk == next_step.pk), None)
    stopped_at = next((view for view in views if view.step.position == rollout.stopped_position), None)
    production = policy.comment_required(steps)
    context = {
        "rollout": rollout,
        "steps": views,
        "next_step": next_step,
        "next_needed": next_view.needed if next_view else None,
        "next_waiting": policy.step_waiting(next_step, approvals, next_view.needed) if next_view else "",
        "approvals": approvals,
        "is_author": policy.is_author(user, rollout),
        "has_approved": any(approval.approver_id == user.pk for approval in approvals),
        "stopped_at": stopped_at,
        "can": policy.decisions(user, rollout, given=approvals, steps=steps),
        "frozen": next((view.needed for view in views if view.needed.freeze is not None), None),
        "requirement": _approval_requirement(production, views),
        "events": selectors.rollout_events(rollout=rollout),
        "names": names_for(
            connection_specs=[*rollout.added_ids, *rollout.removed_ids], sandboxes=[step.sandbox for step in steps]
        ),
        "approve_form": ApproveForm(initial={"digest": rollout.digest}),
        "approvals_production": production,
        "reject_form": RejectForm(),
    }
    context.update(extra)
    return context


def _approval_requirement(production: bool, views: list[StepView]) -> dict:
    """What the approve form asks for: a comment (and a confirmation) when a production step may
    start, the emergency flag while a freeze holds one of the steps not applied yet."""
    frozen = next(
        (view.needed for view in views if view.needed.freeze is not None and view.change_request.status != "applied"),
        None,
    )
    return {
        "tier": "production" if production else "development",
        "emergency_only": frozen is not None,
        "freeze": frozen.freeze if frozen else None,
        "count": frozen.count if frozen else 0,
    }


@require_GET
def detail(request, pk: int):
    rollout = selectors.rollout_get(pk=pk)
    return render(request, "rollouts/detail.html", _detail_context(request, rollout))


@require_GET
def progress(request, pk: int):
    """While a worker applies the rollout: the fragment that says so (polled by the page); once it is
    done, stopped or waiting, htmx reloads the page, and a plain request is sent to the page."""
    rollout = selectors.rollout_get(pk=pk)
    if not is_fragment(request):
        return redirect("rollouts:detail", pk=pk)
    if rollout.status != Rollout.Status.APPLYING or rollout.is_abandoned:
        return vary_on_htmx(HttpResponseClientRefresh())
    next_step = selectors.rollout_next_step(steps=selectors.rollout_steps(rollout=rollout))
    context = {"rollout": rollout, "next_step": next_step}
    return vary_on_htmx(render(request, "rollouts/detail.html#applying", context))


@require_GET
def check(request, pk: int, position: int):
    """One step against its sandbox's current remote document: a fragment for htmx, the page without."""
    rollout = selectors.rollout_get(pk=pk)
    step = selectors.rollout_step_get(rollout=rollout, position=position)
    view = _step_view(rollout, step, with_change=False)
    result = changes_services.change_request_check(change_request=step.change_request) if view.check_wanted else None
    if is_fragment(request):
        view.check = result
        return vary_on_htmx(render(request, "rollouts/detail.html#check", {"rollout": rollout, "item": view}))
    return vary_on_htmx(
        render(request, "rollouts/detail.html", _detail_context(request, rollout, checked=step, check=result))
    )


def _tell_outcome(request, rollout: Rollout) -> None:
    if rollout.status == Rollout.Status.APPLYING:
        messages.info(request, APPLYING.format(pk=rollout.pk))
    elif rollout.status == Rollout.Status.COMPLETED:
        messages.success(request, COMPLETED.format(pk=rollout.pk))
    elif rollout.status == Rollout.Status.STOPPED:
        messages.error(request, STOPPED.format(pk=rollout.pk, detail=rollout.stop_detail))
    elif rollout.status == Rollout.Status.PENDING:
        steps = selectors.rollout_steps(rollout=rollout)
        step = selectors.rollout_next_step(steps=steps)
        if step is not None and any(item.change_request.status == "applied" for item in steps):
            given, needed = policy.approvals(rollout), policy.step_requirement(step)
            missing = max(needed.count - len(given), 1)
            plural = "s" if missing != 1 else ""
            messages.warning(
                request, WAITING.format(pk=rollout.pk, sandbox=step.sandbox, missing=missing, plural=plural)
            )


@require_POST
def approve(request, pk: int):
    rollout = selectors.rollout_get(pk=pk)
    form = ApproveForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"comment": "", "emergency": False, "confirmed": False}
    steps = selectors.rollout_steps(rollout=rollout)
    may = policy.can_approve(request.user, rollout, given=policy.approvals(rollout), steps=steps)
    reviewed = request.POST.get("digest", "") == rollout.digest  # else the service refuses it, audited
    if form.is_valid() and may and reviewed and policy.comment_required(steps) and not data["confirmed"]:
        context = {**_detail_context(request, rollout), "confirm_form": form}
        return render(request, "rollouts/confirm_approve.html", context)
    return PAGES.decide(
        request,
        rollout,
        lambda: services.rollout_approve(
            rollout=rollout,
            approver=request.user,
            digest=request.POST.get("digest", ""),
            comment=data["comment"],
            emergency=data["emergency"],
        ),
        success=APPROVED.format(pk=pk),
        outcome=_tell_outcome,
    )


@require_POST
def resume(request, pk: int):
    rollout = selectors.rollout_get(pk=pk)
    return PAGES.decide(
        request,
        rollout,
        lambda: services.rollout_resume(rollout=rollout, approver=request.user),
        outcome=_tell_outcome,
    )


@require_POST
def reject(request, pk: int):
    rollout = selectors.rollout_get(pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return render(request, "rollouts/detail.html", _detail_context(request, rollout, reject_form=form))
    comment = form.cleaned_data["comment"]
    return PAGES.decide(
        request,
        rollout,
        lambda: services.rollout_reject(rollout=rollout, reviewer=request.user, comment=comment),
        success=REJECTED.format(pk=pk),
    )


@require_POST
def withdraw(request, pk: int):
    rollout = selectors.rollout_get(pk=pk)
    return PAGES.decide(
        request,
        rollout,
        lambda: services.rollout_withdraw(rollout=rollout, actor=request.user),
        success=WITHDRAWN.format(pk=pk),
    )


@require_POST
def rebase(request, pk: int, position: int):
    rollout = selectors.rollout_get(pk=pk)
    return PAGES.decide(
        request,
        rollout,
        lambda: services.rollout_step_rebase(rollout=rollout, position=position, actor=request.user),
        success=REBASED.format(position=position),
    )


# --- drift -----------------------------------------------------------------------------------------
@require_GET
def drift(request, spec_id: str):
    matrix = selectors.flowspec_drift(spec_id=spec_id, reference=request.GET.get("reference"))
    names = names_for(
        connection_specs=[spec_id for column in matrix.columns for spec_id in (*column.to_add, *column.to_remove)],
        sandboxes=[column.sandbox.name for column in matrix.columns],
    )
    return render_page_or_fragment(request, "rollouts/drift.html", "matrix", {"drift": matrix, "names": names})
