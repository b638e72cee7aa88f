"""Browse the cached flow specs per sandbox and start syncs. Everyone signed in may do both."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from flowadmin.audit.correlation import correlation_id_current
from flowadmin.catalog import selectors
from flowadmin.catalog.services import sync_run_start
from flowadmin.documents import pretty_text_kept
from flowadmin.pages import is_fragment, render_page_or_fragment

PAGE_SIZE = 100
SANDBOX_PAGE_SIZE = 25
QUERY_MAX_LENGTH = 200
SYNC_ALREADY_RUNNING = "A sync of these sandboxes was already running: here is its progress."
# (column label, ?sort= key) of the flow spec table's sortable columns.
FLOWSPEC_COLUMNS = [
    ("Name", "name"),
    ("Id", "id"),
    ("Provider", "provider"),
    ("Version", "version"),
    ("Sources", "sources"),
    ("Frequency", "frequency"),
    ("Remote update", "updated"),
]


def _sandboxes_context(request, run) -> dict:
    """The sync progress and one page of the sandbox table (``q`` and ``page`` from the query or the form)."""
    params = request.POST if request.method == "POST" else request.GET
    query = params.get("q", "").strip()[:QUERY_MAX_LENGTH]
    matches = selectors.flowspec_match_counts(query=query)
    sandboxes = selectors.sandbox_list(query=query, holding=matches)
    page = Paginator(sandboxes, SANDBOX_PAGE_SIZE).get_page(params.get("page"))
    page.object_list = selectors.sandboxes_with_spec_counts(page.object_list, match_counts=matches)
    return {
        "page": page,
        "query": query,
        "cached_any": selectors.sandboxes_cached_any(),
        "progress": selectors.sync_run_progress(run=run) if run is not None else None,
    }


def _sandboxes_fragment(request) -> str:
    return "sandbox-table" if request.htmx and request.htmx.target == "sandbox-table" else "sync-progress"


@require_GET
def sandboxes(request):
    context = _sandboxes_context(request, selectors.sync_run_latest_active())
    return render_page_or_fragment(request, "catalog/sandboxes.html", _sandboxes_fragment(request), context)


@require_GET
def sync_run(request, pk: int):
    """One sync run's progress: the page without JavaScript, the polled fragment with htmx.

    ``again`` (set by the poll of a run that a click found going) keeps the notice saying so, in place."""
    context = _sandboxes_context(request, selectors.sync_run_get(pk=pk))
    context["notice"] = SYNC_ALREADY_RUNNING if request.GET.get("again") else ""
    return render_page_or_fragment(request, "catalog/sandboxes.html", "sync-progress", context)


@require_POST
def sync(request, sandbox: str | None = None):
    """Start syncing every sandbox, or one; a second click finds the run already going."""
    name = selectors.sandbox_get(name=sandbox).name if sandbox is not None else None
    started = sync_run_start(sandbox_name=name, actor=request.user, correlation_id=correlation_id_current())
    notice = "" if started.created else SYNC_ALREADY_RUNNING
    if is_fragment(request):
        context = {**_sandboxes_context(request, started.run), "notice": notice}
        return render_page_or_fragment(request, "catalog/sandboxes.html", "sync-progress", context)
    if notice:
        messages.info(request, notice)
    return redirect("catalog:sync_run", pk=started.run.pk)


@require_GET
def sandbox(request, sandbox: str):
    return redirect("catalog:flowspecs", sandbox=selectors.sandbox_get(name=sandbox).name)


def _sort_columns(sort: str) -> list[dict]:
    """Each sortable column with its ``aria-sort`` direction and the ?sort= a click on it asks for."""
    columns = []
    for label, key in FLOWSPEC_COLUMNS:
        direction = "ascending" if sort == key else "descending" if sort == f"-{key}" else ""
        columns.append({"label": label, "direction": direction, "next": f"-{key}" if sort == key else key})
    return columns


@require_GET
def flowspecs(request, sandbox: str):
    sandbox_row = selectors.sandbox_get(name=sandbox)
    query = request.GET.get("q", "").strip()[:QUERY_MAX_LENGTH]
    sort = selectors.flowspec_sort(request.GET.get("sort"))
    specs = selectors.flowspec_list(sandbox=sandbox_row, query=query, sort=sort)
    page = Paginator(specs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "sandbox": sandbox_row,
        "query": query,
        "sort": sort,
        "page": page,
        "columns": _sort_columns(sort),
    }
    return render_page_or_fragment(request, "catalog/flowspecs.html", "results", context)


@require_GET
def flowspec(request, sandbox: str, spec_id: str):
    spec = selectors.flowspec_shown(sandbox=sandbox, spec_id=spec_id, decode=False)
    versions = list(selectors.flowspec_versions(flow_spec=spec))
    diff = selectors.flowspec_version_diff(
        flow_spec=spec, versions=versions, old_id=request.GET.get("from"), new_id=request.GET.get("to")
    )
    context = {
        "sandbox": spec.sandbox,
        "spec": spec,
        "connection_specs": selectors.flowspec_connection_specs(flow_spec=spec),
        "versions": versions,
        "diff": diff,
        # Printed only when the page's fragment of it is kept nowhere ({% derived %}).
        "pretty_document": lambda: pretty_text_kept(selectors.flowspec_document(spec), spec.content_hash).text,
    }
    return render_page_or_fragment(request, "catalog/flowspec.html", "versions", context)
