"""Pages measured in-process with Django's test `Client`: p50/p95 time and SQL query count, as ratios to the floor.

Each page: a few warm-up requests, then N timed requests (the whole response read, streams included),
each right after a timed request of the floor page by the same user, then one more request inside
`CaptureQueriesContext` for the query count (timed runs are not slowed by query capture). The ratio
is the page's p50 over the p50 of the floor samples taken alongside it. Queries of the remote side
(the emulator, another process) are not counted.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


@dataclass(frozen=True)
class Page:
    name: str
    user: str  # "staff", "approver" or "auditor"
    url: str
    method: str = "GET"
    data: dict | None = None
    htmx: bool = False
    target: float = 3.0  # p50 at most this many times the floor
    samples: int | None = None  # None: the run's default
    note: str = ""
    cold: bool = False  # the per-process caches (printed documents) cleared before each sample
    anywhere: bool = False  # cold, and the cache every process shares emptied too: the first view anywhere
    weight_of: int = 0  # bytes of the document the page shows: the answer's size is reported against it


# A source every data set's sandboxes list (specs/connection_specs.json): by its name, by its id's start.
SOURCE_NAME_QUERY = "Amazon S3"
SOURCE_ID_PREFIX = "ecadc60c"
REFUSED_IDS = 130_000  # 39 bytes a line once form-encoded: just under the 5 MiB body limit
LINEAR_PAGES = ("preview at the maximum number of ids", "preview at half the maximum")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def request(client: Client, page: Page) -> tuple[int, int]:
    """Make the request and read all of the answer; (status, bytes)."""
    headers = {"HTTP_HX_REQUEST": "true"} if page.htmx else {}
    if page.method == "POST":
        response = client.post(page.url, page.data or {}, **headers)
    else:
        response = client.get(page.url, **headers)
    size = sum(len(chunk) for chunk in response.streaming_content) if response.streaming else len(response.content)
    response.close()
    return response.status_code, size


def measure(client: Client, page: Page, *, samples: int, floor: Page | None = None, warmup: int = 3) -> dict:
    """Time ``page``; with ``floor``, a floor request precedes each sample (same client), timed too.

    The machine is shared: pairing each sample with a floor sample taken a moment before keeps the
    ratio honest when the load of the machine changes during the run.
    """
    for _ in range(warmup):
        forget(page)
        status, _size = request(client, page)
        if status != 200:
            raise RuntimeError(f"{page.name}: {page.method} {page.url} answered {status}")
    times, floor_times = [], []
    size = 0
    for _ in range(page.samples or samples):
        if floor is not None:
            started = time.perf_counter()
            request(client, floor)
            floor_times.append(time.perf_counter() - started)
        forget(page)
        started = time.perf_counter()
        _status, size = request(client, page)
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        request(client, page)
    result = {
        "name": page.name,
        "method": page.method,
        "url": page.url,
        "user": page.user,
        "samples": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(percentile(times, 0.95) * 1000, 2),
        "queries": len(queries),
        "bytes": size,
        "target_ratio": page.target,
        "note": page.note,
    }
    if page.weight_of:
        result["document_bytes"] = page.weight_of
        result["weight_ratio"] = round(size / page.weight_of, 2)
    if floor_times:
        result["floor_p50_ms"] = round(statistics.median(floor_times) * 1000, 2)
        result["floor_p95_ms"] = round(percentile(floor_times, 0.95) * 1000, 2)
        result["ratio_p50"] = round(result["p50_ms"] / result["floor_p50_ms"], 2)
        result["ratio_p95"] = round(result["p95_ms"] / result["floor_p95_ms"], 2)
    return result


def forget(page: Page) -> None:
    if page.cold or page.anywhere:
        from flowadmin.documents import printed_forget

        printed_forget()
    if page.anywhere:
        from django.core.cache import caches

        from flowadmin.derived import ALIAS

        caches[ALIAS].clear()


def clients(manifest: dict) -> dict[str, Client]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    result = {}
    for role in ("staff", "approver", "auditor"):
        client = Client()
        client.force_login(users.get(username=manifest[role]))
        result[role] = client
    return result


def page_list(manifest: dict) -> list[Page]:
    sandbox, typical, big = manifest["sandbox"], manifest["typical_spec"], manifest["big_spec"]
    flowspecs = reverse("catalog:flowspecs", args=[sandbox])
    audit = reverse("audit:index")
    from flowadmin import documents
    from flowadmin.catalog.models import FlowSpec

    def preview_data(spec_id: str) -> dict:
        document = FlowSpec.objects.get(sandbox__name=sandbox, spec_id=spec_id).document
        ids = [*documents.source_ids(document), manifest["connection_query"]]
        return {"source_connection_spec_ids": "\n".join(ids), "reason": "Onboard a new source."}

    max_ids = settings.FLOWADMIN_MAX_IDS

    def many_ids_data(spec_id: str, count: int) -> dict:
        """The spec's ids, then made-up ones (unknown to the sandbox: a problem each) up to ``count`` lines."""
        document = FlowSpec.objects.get(sandbox__name=sandbox, spec_id=spec_id).document
        ids = documents.source_ids(document)[:count]
        ids += [f"00000000-0000-4000-8000-{number:012d}" for number in range(count - len(ids))]
        return {"source_connection_spec_ids": "\n".join(ids), "reason": "Onboard many sources."}

    def audit_url(path: str, **params) -> str:
        return f"{path}?{urlencode(params)}" if params else path

    day = manifest["audit_day"]
    pages = [
        Page("sandboxes", "staff", reverse("catalog:sandboxes")),
        Page(
            "sandboxes, search by a source's name",
            "staff",
            audit_url(reverse("catalog:sandboxes"), q=SOURCE_NAME_QUERY),
        ),
        Page("flow spec list", "staff", flowspecs),
        Page("flow spec list, search by name", "staff", audit_url(flowspecs, q=manifest["name_query"])),
        Page(
            "flow spec list, search by connection spec id",
            "staff",
            audit_url(flowspecs, q=manifest["connection_query"]),
        ),
        Page("flow spec list, search by a source's name", "staff", audit_url(flowspecs, q=SOURCE_NAME_QUERY)),
        Page("flow spec list, search by an id prefix", "staff", audit_url(flowspecs, q=SOURCE_ID_PREFIX)),
        Page("flow spec detail", "staff", reverse("catalog:flowspec", args=[sandbox, typical])),
        Page("edit page", "staff", reverse("changes:edit", args=[sandbox, typical])),
        Page(
            "preview, typical spec",
            "staff",
            reverse("changes:preview", args=[sandbox, typical]),
            "POST",
            preview_data(typical),
            htmx=True,
        ),
        *big_spec_pages(manifest, preview_data(big)),
        Page(
            LINEAR_PAGES[0],
            "staff",
            reverse("changes:preview", args=[sandbox, typical]),
            "POST",
            many_ids_data(typical, max_ids),
            htmx=True,
            target=0.0,
            note=f"{max_ids:,} ids (FLOWADMIN_MAX_IDS), every line judged and shown; compared with half of it",
        ),
        Page(
            LINEAR_PAGES[1],
            "staff",
            reverse("changes:preview", args=[sandbox, typical]),
            "POST",
            many_ids_data(typical, max_ids // 2),
            htmx=True,
            target=0.0,
            note=f"{max_ids // 2:,} ids",
        ),
        Page(
            "preview refusing 5 MB of ids",
            "staff",
            reverse("changes:preview", args=[sandbox, typical]),
            "POST",
            many_ids_data(typical, REFUSED_IDS),
            htmx=True,
            target=3.0,
            note=f"{REFUSED_IDS:,} lines, about 5 MB as posted: refused before any line is judged",
        ),
        Page("change queue", "approver", reverse("changes:queue")),
        Page("review page", "approver", reverse("changes:detail", args=[manifest["pending_change"]])),
        Page(
            "review page, remote check",
            "approver",
            reverse("changes:check", args=[manifest["pending_change"]]),
            htmx=True,
            note="one GET of the flow spec from the emulator in a gunicorn process, over HTTP",
        ),
        Page("audit log", "auditor", audit),
        Page("audit, sandbox", "auditor", audit_url(audit, sandbox=sandbox)),
        Page("audit, spec_id", "auditor", audit_url(audit, spec_id=manifest["audit_spec_id"])),
        Page("audit, actor", "auditor", audit_url(audit, actor=manifest["audit_actor"])),
        Page("audit, spec_id prefix", "auditor", audit_url(audit, spec_id=manifest["audit_spec_id"][:8])),
        Page("audit, actor name prefix", "auditor", audit_url(audit, actor=manifest["audit_actor"][:5])),
        Page("audit, q partial id", "auditor", audit_url(audit, q=manifest["connection_query"][:8])),
        Page("audit, q a person's name", "auditor", audit_url(audit, q=manifest["audit_actor"])),
        Page("audit, action", "auditor", audit_url(audit, action="change.applied")),
        Page("audit, outcome", "auditor", audit_url(audit, outcome="failure")),
        Page("audit, since/until", "auditor", audit_url(audit, since=day, until=day)),
        Page("audit, q connection spec id", "auditor", audit_url(audit, q=manifest["connection_query"])),
        Page("audit API page", "auditor", reverse("audit:api")),
        Page(
            "audit API page, deep cursor", "auditor", audit_url(reverse("audit:api"), before=manifest["audit_cursor"])
        ),
        Page(
            "CSV export",
            "auditor",
            audit_url(reverse("audit:export_csv"), until=manifest["export_until"]),
            target=0.0,
            samples=3,
            note=f"{manifest['export_rows']:,} events; no ratio target (a download; its memory is measured apart)",
        ),
    ]
    return pages


COLD_TARGET, WARM_TARGET = 10.0, 5.0
WEIGHT_TARGET = 1.5  # a page's bytes at most this many times the document's own pretty-printed size


def big_spec_pages(manifest: dict, preview: dict) -> list[Page]:
    """Every page that shows the 1 MB flow spec, warm and cold (the per-process caches emptied before each
    sample: what every worker pays for its first request), with its weight against the document's; and
    its first view anywhere (the shared cache emptied too), reported without a target."""
    from flowadmin import documents
    from flowadmin.catalog.models import FlowSpec

    sandbox, big, change = manifest["sandbox"], manifest["big_spec"], manifest["big_change"]
    document = FlowSpec.objects.get(sandbox__name=sandbox, spec_id=big).document
    size = len(documents.pretty_json(documents.put_body(document)).encode())
    preview_url = reverse("changes:preview", args=[sandbox, big])
    review = reverse("changes:detail", args=[change])
    shown = [
        ("detail", "staff", reverse("catalog:flowspec", args=[sandbox, big]), "GET", None, False),
        ("edit page", "staff", reverse("changes:edit", args=[sandbox, big]), "GET", None, False),
        ("preview", "staff", preview_url, "POST", preview, True),
        ("preview, whole document", "staff", preview_url, "POST", {**preview, "show": "document"}, True),
        ("preview, curl command", "staff", preview_url, "POST", {**preview, "show": "request"}, True),
        ("review page", "approver", review, "GET", None, False),
        ("review page, whole document", "approver", review + "?show=document", "GET", None, True),
    ]
    pages = []
    for name, user, url, method, data, htmx in shown:
        for cold in (False, True):
            pages.append(
                Page(
                    f"1 MB spec: {name}{', cold' if cold else ''}",
                    user,
                    url,
                    method,
                    data,
                    htmx=htmx,
                    target=COLD_TARGET if cold else WARM_TARGET,
                    cold=cold,
                    weight_of=size,
                )
            )
        pages.append(
            Page(
                f"1 MB spec: {name}, first view anywhere",
                user,
                url,
                method,
                data,
                htmx=htmx,
                target=0.0,
                anywhere=True,
                note=ANYWHERE_NOTE,
            )
        )
    return pages


ANYWHERE_NOTE = (
    "first view anywhere: no target; the cache every process shares (documents) emptied too before each "
    "sample, as for the very first view of a document on the host (a cold page reads what that view derived)"
)


def floors() -> list[Page]:
    return [
        Page(f"floor ({role})", role, reverse("bench-floor"), target=0.0) for role in ("staff", "approver", "auditor")
    ]


def run(manifest: dict, *, samples: int, log=print, only: str = "") -> tuple[dict[str, dict], list[dict]]:
    """({role: floor result}, [page results with ratios to floor samples taken alongside])."""
    by_role = clients(manifest)
    floor_pages = {page.user: page for page in floors()}
    floor = {}
    for page in floor_pages.values():
        floor[page.user] = measure(by_role[page.user], page, samples=samples * 2)
        log(f"  {page.name:45} p50 {floor[page.user]['p50_ms']:8.2f} ms  {floor[page.user]['queries']:3} queries")
    results = []
    for page in page_list(manifest):
        if only and only not in page.name:
            continue
        result = measure(by_role[page.user], page, samples=samples, floor=floor_pages[page.user])
        results.append(result)
        log(
            f"  {page.name:45} p50 {result['p50_ms']:8.2f} ms  x{result['ratio_p50']:<6} "
            f"(floor {result['floor_p50_ms']:.2f} ms)  {result['queries']:3} queries"
        )
    return floor, results


def counts(manifest: dict) -> dict[str, int]:
    """The query count of every page (one request each, after one warm-up): for comparing data sizes."""
    by_role = clients(manifest)
    result = {}
    for page in [*floors(), *page_list(manifest)]:
        request(by_role[page.user], page)
        with CaptureQueriesContext(connection) as queries:
            request(by_role[page.user], page)
        result[page.name] = len(queries)
    return result
