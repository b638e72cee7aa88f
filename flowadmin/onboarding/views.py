"""The "Onboard a source" page: find a connection spec (typed, pasted or picked), see the flow specs it
fits and where it is attached, tick flow specs and sandboxes, submit them all with one reason.

Needs `propose_change`. The services do the work (`flowadmin.onboarding.services`); every proposal
goes through the change-request and rollout services, which check everything again.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from flowadmin.action_pages import ActionPages
from flowadmin.changes import policy
from flowadmin.changes.errors import ChangeRequestForbidden
from flowadmin.onboarding import selectors, services
from flowadmin.onboarding.forms import OnboardForm, SourceForm
from flowadmin.rollouts.errors import RolloutForbidden

PAGES = ActionPages(
    refused_template="changes/refused.html",
    subject_name="change_request",
    detail_url="changes:detail",
    error=services.OnboardingError,
    forbidden=ChangeRequestForbidden,
)
CHANGE_REQUEST_SUBMITTED = "Change request #{pk} was submitted for review: {name} in {sandbox}."
ROLLOUT_SUBMITTED = "Rollout #{pk} was submitted for review: {name} in {sandboxes}, in this order."


def _default_sandbox(names: list[str]) -> str:
    return names[0] if names else ""


def _page(request, source_form: SourceForm, sandboxes, *, form: OnboardForm | None = None, error=None):
    names = [sandbox.name for sandbox in sandboxes]
    sandbox = source_form.value("sandbox") if source_form.value("sandbox") in names else _default_sandbox(names)
    text = source_form.value("connection_spec_id").strip()
    resolved = services.source_resolve(text=text, sandbox=sandbox) if text else None
    found = resolved.source if resolved is not None else None
    suggestions = selectors.suggestions(source=found, sandboxes=sandboxes) if found is not None else []
    if found is not None and form is None:
        form = OnboardForm(
            initial={"connection_spec_id": found.spec_id, "sandbox": sandbox, "sandboxes": [sandbox]},
            flow_specs=[(s.spec_id, s.fit.candidate.name) for s in suggestions],
            sandboxes=names,
        )
    context = {
        "source_form": source_form,
        "sandboxes": sandboxes,
        "sandbox": sandbox,
        "picker": selectors.unused_sources(sandbox=sandbox) if sandbox else [],
        "resolved": resolved,
        "source": found,
        "suggestions": suggestions,
        "form": form,
        "submitted": bool(form is not None and form.is_bound),
        "form_flow_specs_ticked": form.ticked("flow_specs") if form is not None else [],
        "form_sandboxes_ticked": form.ticked("sandboxes") if form is not None else [],
        "attached": [(s.fit.candidate.name or s.spec_id, s.attached_in) for s in suggestions if s.attached_in],
        "error": error,
    }
    return render(request, "onboarding/onboard.html", context)


@require_GET
@PAGES.allowed_or_403(policy.can_propose)
def onboard(request):
    sandboxes = selectors.onboarding_sandboxes()
    names = [sandbox.name for sandbox in sandboxes]
    source_form = SourceForm(
        request.GET if request.GET else None,
        initial={"sandbox": _default_sandbox(names)},
        sandboxes=names,
    )
    return _page(request, source_form, sandboxes)


@require_POST
@PAGES.allowed_or_403(policy.can_propose)
def submit(request):
    sandboxes = selectors.onboarding_sandboxes()
    names = [sandbox.name for sandbox in sandboxes]
    source_data = {key: request.POST.get(key, "") for key in ("sandbox", "connection_spec_id")}
    source_form = SourceForm(source_data, sandboxes=names)
    spec_ids = request.POST.getlist("flow_specs")
    form = OnboardForm(request.POST, flow_specs=[(spec_id, spec_id) for spec_id in spec_ids], sandboxes=names)
    if not form.is_valid():
        return _page(request, source_form, sandboxes, form=form)
    data = form.cleaned_data
    try:
        submitted = services.onboarding_submit(
            connection_spec_id=data["connection_spec_id"],
            spec_ids=data["flow_specs"],
            sandboxes=data["sandboxes"],
            reason=data["reason"],
            author=request.user,
        )
    except (ChangeRequestForbidden, RolloutForbidden) as error:
        return PAGES.refused(request, error.message)
    except services.OnboardingError as error:
        return _page(request, source_form, sandboxes, form=form, error=error)
    for change_request in submitted.change_requests:
        name = change_request.flow_spec.name if change_request.flow_spec else change_request.spec_id
        messages.success(
            request, CHANGE_REQUEST_SUBMITTED.format(pk=change_request.pk, name=name, sandbox=change_request.sandbox)
        )
    for rollout in submitted.rollouts:
        order = ", ".join(step.sandbox for step in rollout.steps.order_by("position"))
        messages.success(request, ROLLOUT_SUBMITTED.format(pk=rollout.pk, name=rollout.spec_name, sandboxes=order))
    if len(submitted.change_requests) + len(submitted.rollouts) == 1:
        if submitted.rollouts:
            return redirect("rollouts:detail", submitted.rollouts[0].pk)
        return redirect("changes:detail", submitted.change_requests[0].pk)
    query = urlencode({"sandbox": data["sandbox"], "connection_spec_id": data["connection_spec_id"]})
    return redirect(f"{reverse('onboarding:onboard')}?{query}")
