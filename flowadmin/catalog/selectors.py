"""Reads of the catalog: every queryset the pages need, built here with what they need and no more."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.http import Http404

from flowadmin.catalog.models import (
    ConnectionSpec,
    FlowSpec,
    FlowSpecSource,
    FlowSpecVersion,
    Sandbox,
    SyncRun,
    SyncRunSandbox,
)
from flowadmin.catalog.texts import stored_digest, stored_text
from flowadmin.derived import Derived
from flowadmin.documents import DiffLine, Kept, LineDiff, decoded, pretty_text_kept, shared_with
from flowadmin.documents.ids import id_key

SANDBOX_NOT_FOUND = "No sandbox named “{name}” is known to flowadmin."
FLOWSPEC_NOT_FOUND = "No flow spec with id “{spec_id}” is cached for sandbox “{sandbox}”."
SYNC_RUN_NOT_FOUND = "No sync run {pk}."

# ?sort= values and the ordering each means; vanished specs always come last.
FLOWSPEC_SORTS = {
    "name": ("name", "spec_id"),
    "-name": ("-name", "-spec_id"),
    "id": ("spec_id",),
    "-id": ("-spec_id",),
    "provider": ("provider_id", "name"),
    "-provider": ("-provider_id", "name"),
    "version": ("version", "name"),
    "-version": ("-version", "name"),
    "sources": ("source_count", "name"),
    "-sources": ("-source_count", "name"),
    "frequency": ("frequency", "name"),
    "-frequency": ("-frequency", "name"),
    "updated": (F("remote_updated_at").asc(nulls_first=True), "name"),
    "-updated": (F("remote_updated_at").desc(nulls_last=True), "name"),
}
DEFAULT_FLOWSPEC_SORT = "name"
FLOWSPEC_LIST_FIELDS = (
    "spec_id",
    "name",
    "provider_id",
    "version",
    "frequency",
    "source_count",
    "remote_updated_at",
    "fetched_at",
    "vanished_at",
    "sandbox_id",
)


def _storable(text: str) -> bool:
    """False for text no row can hold: NUL characters (PostgreSQL refuses them even in a WHERE clause)."""
    return "\x00" not in text


def _shown(text: str) -> str:
    return text.replace("\x00", "\\x00")


# An id prefix shorter than this finds too much to mean one id: below it, only names are searched.
ID_PREFIX_MIN = 8
ID_CHARACTERS = re.compile(r"[0-9a-f-]+")


def is_id_prefix(text: str) -> bool:
    """``text`` can be the start of an id (a UUID) people pasted or typed: 8 or more of its characters."""
    return len(text) >= ID_PREFIX_MIN and ID_CHARACTERS.fullmatch(text.lower()) is not None


def flowspec_matching(query: str, *, sandbox: Sandbox | None = None) -> Q:
    """Flow specs ``query`` finds: by their name, the name of a source they carry (contains, any case),
    their id or a source's id (prefix of 8 characters or more; any prefix of their own id).

    Subqueries only (through the name and attachment indexes): one query whatever the list's length.
    """
    lowered = query.lower()
    named_sources = ConnectionSpec.objects.filter(name__icontains=query)
    if sandbox is not None:
        named_sources = named_sources.filter(sandbox=sandbox)
    sources = Q(connection_spec_id__in=named_sources.values("spec_id"))
    if is_id_prefix(query):
        # Stored ids are lower-case hex and hyphens: those starting with the prefix sort between it
        # and the prefix followed by "g" (a range of the attachment index, where LIKE would scan).
        sources |= Q(connection_spec_id__gte=lowered, connection_spec_id__lt=lowered + "g")
    attached = FlowSpecSource.objects.filter(sources).values("flow_spec_id")
    return Q(name__icontains=query) | Q(spec_id__istartswith=lowered) | Q(pk__in=attached)


def flowspec_match_counts(*, query: str) -> dict[int, int]:
    """{sandbox id: how many of its (not vanished) flow specs ``query`` finds}, for the sandboxes holding any:
    one grouped query, made once for the sandbox search (its list, its count and its rows' counts)."""
    query = query.strip()
    if not query or not _storable(query):
        return {}
    return dict(
        FlowSpec.objects.filter(flowspec_matching(query), vanished_at__isnull=True)
        .values("sandbox_id")
        .annotate(count=Count("*"))
        .values_list("sandbox_id", "count")
    )


def sandbox_list(*, query: str = "", holding: Iterable[int] = ()) -> QuerySet[Sandbox]:
    """Known sandboxes, active ones first; ``query`` matches the name or the title (contains, any case);
    ``holding``: the ids of more sandboxes it finds (those with flow specs it finds: `flowspec_match_counts`).

    Page it, then give the page's rows their flow spec counts with `sandboxes_with_spec_counts`.
    """
    inactive_last = Case(When(state="active", then=Value(0)), default=Value(1))
    sandboxes = Sandbox.objects.all()
    query = query.strip()
    if not _storable(query):
        return sandboxes.none()
    if query:
        sandboxes = sandboxes.filter(Q(name__icontains=query) | Q(title__icontains=query) | Q(pk__in=list(holding)))
    return sandboxes.order_by(inactive_last, "name")


def sandboxes_with_spec_counts(sandboxes: Iterable[Sandbox], *, match_counts: dict | None = None) -> list[Sandbox]:
    """``sandboxes``, each with ``spec_count``: its cached flow specs that have not vanished, and
    ``match_count``: how many of them a search found (from ``match_counts``, `flowspec_match_counts`).

    One grouped query over these sandboxes only (through the sandbox/vanished index), so a page of
    the list costs the same however many sandboxes and flow specs there are.
    """
    sandboxes = list(sandboxes)
    counts = dict(
        FlowSpec.objects.filter(sandbox__in=sandboxes, vanished_at__isnull=True)
        .values("sandbox_id")
        .annotate(count=Count("*"))  # COUNT(*): answered from the index alone
        .values_list("sandbox_id", "count")
    )
    matches = match_counts or {}
    for sandbox in sandboxes:
        sandbox.spec_count = counts.get(sandbox.pk, 0)
        sandbox.match_count = matches.get(sandbox.pk, 0)
    return sandboxes


def sandbox_get(*, name: str) -> Sandbox:
    """The sandbox called ``name``; `Http404` with a sentence saying so when there is none."""
    sandbox = Sandbox.objects.filter(name=name).first() if _storable(name) else None
    if sandbox is None:
        raise Http404(SANDBOX_NOT_FOUND.format(name=_shown(name)))
    return sandbox


def sandboxes_cached_any() -> bool:
    return FlowSpec.objects.exists()


def flowspec_sort(value: str | None) -> str:
    """The whitelisted sort key for ``value`` (the default for anything else)."""
    return value if value in FLOWSPEC_SORTS else DEFAULT_FLOWSPEC_SORT


def flowspec_list(*, sandbox: Sandbox | str, query: str = "", sort: str = DEFAULT_FLOWSPEC_SORT) -> QuerySet[FlowSpec]:
    """The cached flow specs of a sandbox, matching ``query`` and ordered by ``sort``.

    ``query`` matches as `flowspec_matching` says: a name, a source's name, an id or a source's id prefix.
    """
    in_sandbox = Q(sandbox=sandbox) if isinstance(sandbox, Sandbox) else Q(sandbox__name=sandbox)
    specs = FlowSpec.objects.only(*FLOWSPEC_LIST_FIELDS).filter(in_sandbox)
    query = query.strip()
    if not _storable(query):
        return specs.none()
    if query:
        sandbox_row = sandbox if isinstance(sandbox, Sandbox) else None
        specs = specs.filter(flowspec_matching(query, sandbox=sandbox_row))
    ordering = FLOWSPEC_SORTS[flowspec_sort(sort)]
    return specs.order_by(F("vanished_at").asc(nulls_first=True), *ordering)


def flowspec_get(*, sandbox: Sandbox | str, spec_id: str, digest: bool = False) -> FlowSpec:
    """One cached flow spec (with its sandbox); `Http404` with a sentence saying what is missing.

    ``digest``: its document not read, only the digest of its stored text, ``document_digest``
    (computed by the database)."""
    sandbox_name = sandbox.name if isinstance(sandbox, Sandbox) else sandbox
    if not (_storable(sandbox_name) and _storable(spec_id)):
        raise Http404(FLOWSPEC_NOT_FOUND.format(spec_id=_shown(spec_id), sandbox=_shown(sandbox_name)))
    specs = FlowSpec.objects.select_related("sandbox")
    if digest:
        specs = specs.defer("document").annotate(document_digest=stored_digest("document"))
    spec = specs.filter(sandbox__name=sandbox_name, spec_id=spec_id).first()
    if spec is None:
        spec = specs.filter(sandbox__name=sandbox_name, spec_id=id_key(spec_id)).first()
    if spec is None:
        raise Http404(FLOWSPEC_NOT_FOUND.format(spec_id=spec_id, sandbox=sandbox_name))
    return spec


def flowspec_shown(*, sandbox: Sandbox | str, spec_id: str, decode: bool = True) -> FlowSpec:
    """`flowspec_get` for a page that shows the flow spec: ``document_digest`` naming its stored text
    (computed by the database; what pages derive from the document is kept by it), and its document
    decoded by `flowspec_document`: the text itself is read only when this process has not decoded it.

    ``decode`` False: the document left undecoded, for a page that decodes it only when what it
    derives is kept nowhere (`flowspec_document`)."""
    spec = flowspec_get(sandbox=sandbox, spec_id=spec_id, digest=True)
    if decode:
        spec.document = flowspec_document(spec)
    return spec


def flowspec_document(spec: FlowSpec) -> dict:
    """The document of a spec read by `flowspec_shown`, decoded once per process (a 1 MB document takes
    longer to decode than the rest of a page) and shared by the requests that show it: read-only."""

    def make() -> dict:
        return decoded(FlowSpec.objects.filter(pk=spec.pk).values_list(stored_text("document"), flat=True).get())

    return _shown_documents.get_or_make((spec.pk, spec.document_digest), make)


_shown_documents: Kept[dict] = Kept(8)


IN_LIST_MAX = 100  # ids a query asks for by name; more: the sandbox's rows read and picked


class ConnectionSpecRef(NamedTuple):
    """A connection spec id as a flow spec lists it, with what the sandbox's cache knows of it."""

    spec_id: str
    name: str = ""
    provider_id: str = ""
    known: bool = False


def flowspec_connection_specs(*, flow_spec: FlowSpec) -> dict[str, list[ConnectionSpecRef]]:
    """``{"source": [...], "target": [...]}``: the document's ids, in order, resolved to names."""
    listed = _listed_ids(flow_spec)
    wanted = {spec_id.lower() for ids in listed.values() for spec_id in ids}
    rows = ConnectionSpec.objects.filter(sandbox_id=flow_spec.sandbox_id)
    if len(wanted) <= IN_LIST_MAX:  # else the sandbox's every row: sooner read than a query of 1,000 ids built
        rows = rows.filter(spec_id__in=wanted)
    known = {
        key: (name, provider_id)
        for spec_id, name, provider_id in rows.values_list("spec_id", "name", "provider_id")
        if (key := spec_id.lower()) in wanted
    }
    return {
        role: [
            ConnectionSpecRef(spec_id, *known[key], True)
            if (key := spec_id.lower()) in known
            else ConnectionSpecRef(spec_id)
            for spec_id in ids
        ]
        for role, ids in listed.items()
    }


def _listed_ids(flow_spec: FlowSpec) -> dict[str, tuple[str, ...]]:
    """The source and target ids the document lists; kept by its digest for a spec `flowspec_shown` read."""

    def listed(document) -> dict[str, tuple[str, ...]]:
        document = document if isinstance(document, dict) else {}
        return {
            "source": _ids(document.get("sourceConnectionSpecIds")),
            "target": _ids(document.get("targetConnectionSpecIds")),
        }

    digest = getattr(flow_spec, "document_digest", "")
    if not digest:
        return listed(flow_spec.document)
    return _listed.get_or_make(digest, lambda: listed(flowspec_document(flow_spec)))


_listed: Derived[dict[str, tuple[str, ...]]] = Derived("connection-ids", 8)


def _ids(value) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())


def flowspec_versions(*, flow_spec: FlowSpec) -> QuerySet[FlowSpecVersion]:
    """The spec's version history, newest first, without the documents."""
    return flow_spec.versions.only(
        "id", "flow_spec_id", "content_hash", "seen_at", "origin", "change_request_id"
    ).order_by("-seen_at", "-id")


@dataclass(frozen=True)
class VersionDiff:
    old: FlowSpecVersion
    new: FlowSpecVersion
    lines: list[DiffLine]


def flowspec_version_diff(
    *, flow_spec: FlowSpec, versions: list[FlowSpecVersion], old_id: str | None, new_id: str | None
) -> VersionDiff | None:
    """The line diff between two versions of the spec (default: the latest two); None with fewer than two.

    Ids that are not versions of this spec fall back to the default.
    """
    by_id = {str(version.pk): version for version in versions}
    if len(by_id) < 2:
        return None
    new = by_id.get(new_id or "") or versions[0]
    old = by_id.get(old_id or "")
    if old is None:
        old = versions[1] if new.pk == versions[0].pk else versions[0]
    key = (old.pk, old.content_hash, new.pk, new.content_hash)
    return VersionDiff(old=old, new=new, lines=_version_diffs.get_or_make(key, lambda: _version_hunks(old, new)))


_version_diffs: Derived[list[DiffLine]] = Derived("version-hunks", 32)  # two versions' hunks never change


def _version_hunks(old: FlowSpecVersion, new: FlowSpecVersion) -> list[DiffLine]:
    texts = FlowSpecVersion.objects.filter(pk__in={old.pk, new.pk}).annotate(text=stored_text("document"))
    documents = {pk: decoded(text) for pk, text in texts.values_list("pk", "text")}
    new_doc = documents[new.pk]
    new_text = pretty_text_kept(new_doc, new.content_hash)  # the flow spec's own text, when it is the newest
    old_doc = shared_with(documents[old.pk], new_doc)  # printed again only where it differs
    old_text = pretty_text_kept(old_doc, old.content_hash, like=new_text)
    return LineDiff(old_doc, new_doc, old_text=old_text, new_text=new_text).hunks()


def sync_run_get(*, pk: int) -> SyncRun:
    run = SyncRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404(SYNC_RUN_NOT_FOUND.format(pk=pk))
    return run


def sync_run_latest_active() -> SyncRun | None:
    """The newest run still going (so a page opened meanwhile shows its progress)."""
    runs = SyncRun.objects.filter(finished_at__isnull=True).order_by("-created_at", "-id")[:5]
    return next((run for run in runs if run.is_active), None)


# Rows of the progress panel's list of sandboxes; more scroll inside it.
SYNC_ROWS_SHOWN = 5


@dataclass(frozen=True)
class SyncProgress:
    run: SyncRun
    items: list[SyncRunSandbox]
    total: int
    done: int
    failed: int
    rows: int  # the list's height, in rows: the same from queued to finished, so nothing below it moves

    @property
    def active(self) -> bool:
        return self.run.is_active


def sync_run_progress(*, run: SyncRun) -> SyncProgress:
    items = list(run.items.order_by("sandbox_name"))
    done = sum(1 for item in items if item.is_done)
    failed = sum(1 for item in items if item.state == SyncRunSandbox.State.FAILED)
    # Before its sandboxes are listed, a run of them all expects those that were active at the last sync.
    expected = len(items) or (1 if run.scope else Sandbox.objects.filter(state="active").count())
    rows = max(1, min(expected, SYNC_ROWS_SHOWN))
    return SyncProgress(run=run, items=items, total=len(items), done=done, failed=failed, rows=rows)
