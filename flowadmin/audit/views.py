"""The audit log: a filterable page, one event, CSV / JSON Lines exports and a JSON API.

All of it requires the `view_audit` permission (the Auditors group, and superusers).
"""

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from flowadmin.accounts.roles import VIEW_AUDIT
from flowadmin.audit.exports import COLUMNS, csv_stream, event_as_dict, jsonl_export
from flowadmin.audit.forms import AuditFilterForm
from flowadmin.audit.integrity import audit_integrity
from flowadmin.audit.names import page_names
from flowadmin.audit.selectors import PAGE_SIZE, audit_event_detail, audit_event_export, audit_event_page
from flowadmin.pages import is_fragment, render_page_or_fragment

INVALID_FILTERS = "Invalid filter values."
CURSOR_PARAMS = ("before", "after")


@never_cache
@require_GET
@permission_required(VIEW_AUDIT, raise_exception=True)
def index(request):
    """The audit log. While one types (htmx, header ``X-Live-Filter: 1``) an answer that would empty the table (filters
    not yet valid, such as half a date, or no event yet for half a word) is 204 No Content: htmx keeps
    the rows shown until the typing gives an answer; Enter, leaving the field or Filter always answer."""
    form = AuditFilterForm(request.GET, live_url=reverse("audit:index"))
    live = bool(request.htmx) and request.headers.get("X-Live-Filter") == "1"
    page = None
    if form.is_valid():
        data = form.cleaned_data
        page = audit_event_page(
            filters=form.filters(), before=data["before"], after=data["after"], with_documents=False
        )
    if live and (page is None or not page.events):
        return HttpResponse(status=204)
    names = page_names(page.events) if page is not None else None
    context = {"form": form, "page": page, "page_size": PAGE_SIZE, "names": names}
    if not is_fragment(request):
        context["integrity"] = audit_integrity()
    return render_page_or_fragment(request, "audit/index.html", "results", context)


@never_cache
@require_GET
@permission_required(VIEW_AUDIT, raise_exception=True)
def event(request, seq: int):
    detail = audit_event_detail(seq=seq)
    if detail is None:
        raise Http404("No audit event with this number.")
    context = {
        "detail": detail,
        "event": detail.event,
        "names": page_names([detail.event]),
        "change_request_url": _change_request_url(detail.event),
    }
    return render(request, "audit/event.html", context)


@never_cache
@require_GET
@permission_required(VIEW_AUDIT, raise_exception=True)
def api(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": INVALID_FILTERS, "errors": _errors(form)}, status=400)
    data = form.cleaned_data
    page = audit_event_page(filters=form.filters(), before=data["before"], after=data["after"])
    names = page_names(page.events)
    return JsonResponse(
        {
            "results": [event_as_dict(event, names) for event in page.events],
            "next": _cursor_url(request, "before", page.older),
            "previous": _cursor_url(request, "after", page.newer),
        }
    )


@never_cache
@require_GET
@permission_required(VIEW_AUDIT, raise_exception=True)
def export_csv(request):
    def stream(filters):
        return csv_stream(audit_event_export(filters=filters, columns=COLUMNS))

    return _export(request, stream, "csv", "text/csv; charset=utf-8")


@never_cache
@require_GET
@permission_required(VIEW_AUDIT, raise_exception=True)
def export_jsonl(request):
    return _export(
        request, lambda filters: jsonl_export(filters=filters), "jsonl", "application/x-ndjson; charset=utf-8"
    )


def _export(request, stream, extension: str, content_type: str):
    """Stream every event matching the filters (page cursors are ignored), oldest first."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": INVALID_FILTERS, "errors": _errors(form)}, status=400)
    response = StreamingHttpResponse(stream(form.filters()), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="flowadmin-audit-{stamp}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _errors(form: AuditFilterForm) -> dict[str, list[str]]:
    return {field: [str(error) for error in errors] for field, errors in form.errors.items()}


def _cursor_url(request, name: str, value: int | None) -> str | None:
    if value is None:
        return None
    query = request.GET.copy()
    for param in CURSOR_PARAMS:
        query.pop(param, None)
    query[name] = str(value)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _change_request_url(event) -> str | None:
    if event.change_request_id is None:
        return None
    try:
        return reverse("changes:detail", args=[event.change_request_id])
    except NoReverseMatch:
        return f"/changes/{event.change_request_id}/"
