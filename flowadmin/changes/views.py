"""Change request pages: propose (edit form + live preview), the queue and one request (decisions: decision_views).

Every page needs a signed-in user (the login middleware); proposing needs `propose_change`,
deciding needs `approve_change`. The rules themselves (four eyes, author only, one open request)
are enforced by the services whatever a page shows; refusals answer 403 with a sentence.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from flowadmin import documents
from flowadmin.action_pages import ActionPages
from flowadmin.catalog import selectors as catalog_selectors
from flowadmin.catalog.names import names_for
from flowadmin.changes import lookups, policy, preview, selectors, services
from flowadmin.changes.forms import ApproveForm, ChangeRequestForm, ChangeRequestRefForm, RejectForm
from flowadmin.changes.ids import ids_apply, ids_text, ids_text_with
from flowadmin.changes.limits import live_preview
from flowadmin.changes.models import ChangeRequest
from flowadmin.changes.proposal_checks import change_request_impact, proposal_checks
from flowadmin.documents.ids import normalise
from flowadmin.pages import is_fragment, vary_on_htmx

NEEDS_PROPOSE = policy.NOT_PROPOSER
NEEDS_APPROVE = policy.NOT_APPROVER
REVERT_REASON = "Revert change request #{pk}."
EDITED = "Change request #{pk} was edited: its approvals were dismissed and it is reviewed anew."
APPROVAL_RECORDED = (
    "Your approval of change request #{pk} was recorded: {count} of {needed}. "
    "It is applied once {missing} more approver{plural} approve{verb} it."
)
REBASED_APPROVED = "Change request #{old} was rebased onto the current remote document as #{new}, with your approval."
PROPOSED = "Change request #{pk} was submitted for review."
WITHDRAWN = "Change request #{pk} was withdrawn."
REJECTED = "Change request #{pk} was rejected."
REBASED = "Change request #{old} was rebased onto the current remote document as #{new}: review it again."
APPLIED = "Change request #{pk} was approved and applied: the flow spec now carries the change."
FAILED = "Change request #{pk} was approved but applying it failed: {error}. An approver can retry it."
STALE = (
    "Change request #{pk} was not applied: the remote document changed since it was proposed. "
    "Nothing was sent. It can be rebased onto the current document."
)
UNKNOWN = (
    "Change request #{pk}: the PUT was sent but no answer came back. flowadmin will settle it by reading "
    "the flow spec back (reconcile_changes, or Retry after a minute)."
)
PAGE_SIZE = 50
CHECKED_STATUSES = (
    ChangeRequest.Status.PENDING,
    ChangeRequest.Status.STALE,
    ChangeRequest.Status.FAILED,
    ChangeRequest.Status.APPLYING,
)
# What a large document's change shows only when asked (?show=...): the template fragment of each.
SHOWN_PARTS = {
    "document": "changes/_document_change.html#whole-document",
    "request": "changes/edit.html#put-request",
}


# --- plumbing ------------------------------------------------------------------------------------
PAGES = ActionPages(
    refused_template="changes/refused.html",
    subject_name="change_request",
    detail_url="changes:detail",
    error=services.ChangeRequestError,
    forbidden=services.ChangeRequestForbidden,
)


# --- propose -------------------------------------------------------------------------------------
def _edit_context(
    spec, form: ChangeRequestForm, *, submitted: bool, open_request=None, page: bool = True, refs=None
) -> dict:
    """What the edit page shows; ``page`` False: only what its live preview fragment needs."""
    sandbox = spec.sandbox.name
    proposal = _proposal(spec, form)
    context = {"sandbox": spec.sandbox, "spec": spec, "form": form, "submitted": submitted, "preview": proposal}
    context.update(proposal_checks(spec=spec, form=form))
    if page:
        context["picker"] = selectors.connection_specs_unused(sandbox=sandbox)
        context["refs"] = refs or ChangeRequestRefForm()
        open_request = open_request or selectors.change_request_open_for(sandbox=sandbox, spec_id=spec.spec_id)
        editing = _referenced(context["refs"], "editing", spec)
        context["open_request"] = None if editing is not None and editing == open_request else open_request
        context["editing"] = editing
        context["revising"] = _referenced(context["refs"], "revised_from", spec)
        context["requirement"] = policy.requirement_for(sandbox=sandbox)
    return context


def _proposal(spec, form: ChangeRequestForm) -> preview.ProposalPreview:
    return preview.proposal_preview(
        base=spec.document,
        parsed=form.parsed,
        names=dict(form.context.names),
        sandbox=spec.sandbox.name,
        spec_id=spec.spec_id,
        platform_url=settings.PLATFORM_URL,
        org_id=settings.ADOBE_ORG_ID,
        base_key=spec.content_hash,
        text_key=getattr(spec, "document_digest", ""),  # catalog_selectors.flowspec_shown
    )


def _referenced(refs: ChangeRequestRefForm, name: str, spec) -> ChangeRequest | None:
    """The change request of ``spec`` a hidden field of the edit page names, if any."""
    value = refs.data.get(name) if refs.is_bound else refs.initial.get(name)
    if not str(value or "").isdigit():
        return None
    return ChangeRequest.objects.filter(pk=int(value), sandbox=spec.sandbox.name, spec_id=spec.spec_id).first()


def _initial(request, spec) -> tuple[dict, dict]:
    """The form's first values, and the hidden references (a request edited or revised)."""
    current = documents.source_ids(spec.document)
    initial = {"source_connection_spec_ids": ids_text(current), "reason": ""}
    for name, key in (("editing", "edit"), ("revised_from", "revise")):
        pk = request.GET.get(key, "")
        if not pk.isdigit():
            continue
        earlier = ChangeRequest.objects.filter(pk=int(pk), sandbox=spec.sandbox.name, spec_id=spec.spec_id).first()
        if earlier is not None:
            ids = ids_apply(current, added=earlier.added_ids, removed=earlier.removed_ids)
            return {"source_connection_spec_ids": ids_text(ids), "reason": earlier.reason}, {name: earlier.pk}
    revert_pk = request.GET.get("revert", "")
    if revert_pk.isdigit():
        applied = ChangeRequest.objects.filter(
            pk=int(revert_pk), sandbox=spec.sandbox.name, spec_id=spec.spec_id, status=ChangeRequest.Status.APPLIED
        ).first()
        if applied is not None:
            inverse = ids_apply(current, added=applied.removed_ids, removed=applied.added_ids)
            initial = {"source_connection_spec_ids": ids_text(inverse), "reason": REVERT_REASON.format(pk=applied.pk)}
    return initial, {}


def _posted_ids(post) -> str:
    """The id list as posted, with the picker's id when one was added (what the form will judge)."""
    return (
        _with_added_id(post).get("source_connection_spec_ids", "")
        if "add_id" in post
        else post.get("source_connection_spec_ids", "")
    )


def _with_added_id(post):
    """The posted form with the picker's id appended to the list (the picker without JavaScript)."""
    data = post.copy()
    spec_to_add = normalise(post.get("add_id", ""))
    if spec_to_add:
        data["source_connection_spec_ids"] = ids_text_with(data.get("source_connection_spec_ids", ""), spec_to_add)
    return data


@require_http_methods(["GET", "POST"])
def edit(request, sandbox: str, spec_id: str):
    """Propose a change; or, with ``?edit=<pk>``, edit the author's pending request; with ``?revise=<pk>``,
    revise a rejected or withdrawn one (the new request links to it)."""
    spec = catalog_selectors.flowspec_shown(sandbox=sandbox, spec_id=spec_id)
    if request.method == "POST":  # ids added that the cache lacks are looked up in the Flow Service
        context = lookups.id_context_looked_up(flow_spec=spec, text=_posted_ids(request.POST))
    else:
        context = selectors.id_context(flow_spec=spec)
    refs = ChangeRequestRefForm(request.POST or None)
    if not (request.method == "POST" and refs.is_valid() and refs.cleaned_data["editing"]):
        decision = policy.can_propose(request.user)  # editing a request: the service says who may
        if not decision:
            return PAGES.refused(request, decision.reason)
    if request.method == "GET" or "add_id" in request.POST:
        initial, references = _initial(request, spec)
        data = _with_added_id(request.POST) if request.method == "POST" else None
        form = ChangeRequestForm(data, initial=initial, context=context)
        refs = ChangeRequestRefForm(data, initial=references)
        return render(request, "changes/edit.html", _edit_context(spec, form, submitted=False, refs=refs))
    form = ChangeRequestForm(request.POST, context=context)
    refs = ChangeRequestRefForm(request.POST)
    if form.is_valid() and refs.is_valid():
        editing = _referenced(refs, "editing", spec)
        try:
            if editing is not None:
                change_request = services.change_request_edit(
                    change_request=editing,
                    actor=request.user,
                    source_ids=list(form.parsed.ids),
                    reason=form.cleaned_data["reason"],
                    confirm_empty=form.cleaned_data["confirm_empty"],
                    acknowledged=form.acknowledged,
                )
            else:
                change_request = services.change_request_propose(
                    flow_spec=spec,
                    source_ids=list(form.parsed.ids),
                    reason=form.cleaned_data["reason"],
                    author=request.user,
                    confirm_empty=form.cleaned_data["confirm_empty"],
                    revised_from=_referenced(refs, "revised_from", spec),
                    acknowledged=form.acknowledged,
                )
        except services.ChangeRequestForbidden as error:
            return PAGES.refused(request, error.message)
        except services.ChangeRequestError as error:
            form.add_error(None, error.message)
            blocking = error.change_request if editing is None else None
            context = _edit_context(spec, form, submitted=True, open_request=blocking, refs=refs)
            return render(request, "changes/edit.html", context)
        message = EDITED if editing is not None else PROPOSED
        messages.success(request, message.format(pk=change_request.pk))
        return PAGES.to_detail(request, change_request)
    return render(request, "changes/edit.html", _edit_context(spec, form, submitted=True, refs=refs))


@live_preview(heading="Preview", heading_id="preview-heading")
@require_POST
@PAGES.allowed_or_403(policy.can_propose)
def preview_view(request, sandbox: str, spec_id: str):
    """The live preview: the fragment for htmx, the whole edit page without JavaScript. Saves nothing."""
    spec = catalog_selectors.flowspec_shown(sandbox=sandbox, spec_id=spec_id)
    context = lookups.id_context_looked_up(flow_spec=spec, text=_posted_ids(request.POST))
    form = ChangeRequestForm(request.POST, context=context)
    shown = _shown(request.POST)
    if is_fragment(request) and shown:
        # A large document's whole text or curl command, asked for when its panel opens: that part alone.
        proposal = _proposal(spec, form)
        context = {"sandbox": spec.sandbox, "spec": spec, "preview": proposal, "change": proposal.change}
        return vary_on_htmx(render(request, SHOWN_PARTS[shown[0]], {**context, "shown": shown}))
    fragment = is_fragment(request)
    context = {**_edit_context(spec, form, submitted=False, page=not fragment), "shown": shown}
    template = "changes/edit.html#preview" if fragment else "changes/edit.html"
    if fragment:
        context["change"] = context["preview"].change
    return vary_on_htmx(render(request, template, context))


def _shown(params) -> list[str]:
    """The parts of a large document's change asked for with ?show= (`SHOWN_PARTS`)."""
    return [part for part in params.getlist("show") if part in SHOWN_PARTS]


# --- review --------------------------------------------------------------------------------------
@require_GET
def queue(request):
    show = selectors.show_choice(request.GET.get("show"))
    requests = selectors.change_request_list(user=request.user, show=show)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    names = names_for(
        flow_specs=[cr.spec_id for cr in page.object_list], sandboxes=[cr.sandbox for cr in page.object_list]
    )
    context = {"show": show, "choices": selectors.SHOW_CHOICES, "page": page, "names": names}
    return render(request, "changes/queue.html", context)


def detail_context(request, change_request: ChangeRequest, **extra) -> dict:
    user = request.user
    names = selectors.connection_spec_names(sandbox=change_request.sandbox)
    change = _document_change(change_request, names=names)
    stale_diff = None
    if change_request.status == ChangeRequest.Status.STALE and isinstance(change_request.remote_document, dict):
        stale_diff = documents.line_diff(
            documents.put_body(change_request.base_document), documents.put_body(change_request.remote_document)
        )
    given = policy.approvals(change_request)
    context = {
        "cr": change_request,
        "change": change,
        "stale_diff": stale_diff,
        "successor": selectors.change_request_successor(change_request=change_request),
        "revisions": selectors.change_request_revisions(change_request=change_request),
        "events": selectors.change_request_events(change_request=change_request),
        "is_author": policy.is_author(user, change_request),
        "can": policy.decisions(user, change_request, given=given),
        "approvals": given,
        "dismissed": selectors.approvals_dismissed(change_request=change_request),
        "requirement": policy.requirement(change_request),
        "names": names_for(sandboxes=[change_request.sandbox]),
        "check_wanted": change_request.status in CHECKED_STATUSES,
        "reject_form": RejectForm(),
        "approve_form": ApproveForm(initial={"digest": change_request.digest}),
        **change_request_impact(change_request, names=names),
    }
    context.update(extra)
    return context


def _document_change(change_request: ChangeRequest, *, names: dict[str, str]) -> preview.DocumentChange:
    ids = {"added": change_request.added_ids, "removed": change_request.removed_ids, "names": names}
    if getattr(change_request, "proposed_digest", None) is not None:  # selectors.change_request_for_review
        return preview.document_change_kept(
            key=selectors.review_key(change_request),
            documents_of=lambda: selectors.review_documents(change_request),
            base_key=change_request.base_hash,
            **ids,
        )
    return preview.document_change(
        base=change_request.base_document,
        proposed=change_request.proposed_document,
        base_key=change_request.base_hash,
        **ids,
    )


@require_GET
def detail(request, pk: int):
    change_request = selectors.change_request_for_review(pk=pk)
    shown = _shown(request.GET)
    if is_fragment(request) and "document" in shown:
        # The whole document, asked for when its panel opens: that part alone.
        names = selectors.connection_spec_names(sandbox=change_request.sandbox)
        context = {"cr": change_request, "change": _document_change(change_request, names=names), "shown": shown}
        return vary_on_htmx(render(request, SHOWN_PARTS["document"], context))
    context = {**detail_context(request, change_request), "shown": shown}
    return vary_on_htmx(render(request, "changes/detail.html", context))


@require_GET
def check(request, pk: int):
    """The check against the current remote document: a fragment for htmx, the whole page without."""
    change_request = selectors.change_request_get(pk=pk)
    result = None
    if change_request.status in CHECKED_STATUSES:
        result = services.change_request_check(change_request=change_request, actor=request.user)
    if is_fragment(request):
        context = {
            "cr": change_request,
            "check": result,
            "check_wanted": result is not None,
            **_check_context(request, change_request, result),
        }
        return vary_on_htmx(render(request, "changes/detail.html#check", context))
    context = detail_context(request, change_request, check=result, **_check_context(request, change_request, result))
    return vary_on_htmx(render(request, "changes/detail.html", context))


@require_GET
def impact(request, pk: int):
    """The dataflows the removal affects, read anew: a fragment for htmx, the whole page without."""
    change_request = selectors.change_request_get(pk=pk)
    names = selectors.connection_spec_names(sandbox=change_request.sandbox)
    panel = change_request_impact(change_request, names=names, fresh=True)
    if is_fragment(request):
        return vary_on_htmx(render(request, "changes/detail.html#impact", {"cr": change_request, **panel}))
    return vary_on_htmx(render(request, "changes/detail.html", detail_context(request, change_request, **panel)))


def _check_context(request, change_request: ChangeRequest, result) -> dict:
    """What the check's panel offers: approve the change rebased onto the remote it found (approvers)."""
    clean = result is not None and result.state == "rebase"
    return {
        "can_approve_rebased": policy.can_approve_rebased(request.user, change_request, clean=clean),
        "can_withdraw": policy.can_withdraw(request.user, change_request),
        "requirement": policy.requirement(change_request),
        "rebased_form": ApproveForm(initial={"remote_hash": getattr(result, "remote_hash", "")}),
    }
