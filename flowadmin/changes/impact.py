"""The blast radius of a removal: which dataflows use the connection spec ids a flow spec would lose.

A dataflow depends on a removal when its ``flowSpec.id`` is the flow spec and one of its source
connections uses a removed connection spec. One listing finds them all, page by page:
``GET /flows?property=flowSpec.id==<spec>&property=inheritedAttributes.sourceConnections[].connectionSpec.id==<a>,<b>``
(a comma is an OR; repeated ``property`` parameters AND; Adobe documents no ``in(...)``). Every
answer is checked again here, so a service that ignored a filter only costs bandwidth; a dataflow
whose answer does not name its source connections' specs has them read in one more request
(``/sourceConnections?property=id==<ids>``).

Each reading is kept (`RemovalImpact`, one row per sandbox, flow spec and removed ids) with the
time it was taken: the live preview and the proposal reuse one younger than `FRESH_SECONDS`; the
review page's refresh and the apply read anew. A reading that failed says so (``error``); it is
shown again for `FAILED_SECONDS` only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flowadmin.changes.common import flow_service
from flowadmin.changes.models import RemovalImpact
from flowadmin.documents.ids import id_key, id_keys
from flowadmin.flowservice import FlowServiceError

FRESH_SECONDS = 60  # a reading this young is reused by the live preview and the proposal
FAILED_SECONDS = 15  # a failed reading this young is shown again rather than retried at every keystroke
SOURCE_IDS_PER_REQUEST = 50  # source connection ids asked for in one `id==a,b,...` filter
IDS_PER_FILTER = 50  # removed connection spec ids in one listing's filter

ENABLED = "enabled"


@dataclass(frozen=True)
class Dataflow:
    """One dependent dataflow as the pages show it."""

    id: str
    name: str
    state: str  # enabled | disabled (as the Flow Service says)
    last_run: str = ""  # the last run's state (success, failed, ...), "" when it never ran or nobody said
    last_run_at: int | None = None  # epoch ms the last run started
    connection_spec_ids: tuple[str, ...] = ()  # the removed ids its source connections use

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED


@dataclass(frozen=True)
class Impact:
    """One reading: the dependent dataflows (enabled first, then by name), or the error that stopped it."""

    sandbox: str
    spec_id: str
    removed: tuple[str, ...]
    dataflows: tuple[Dataflow, ...] = ()
    checked_at: datetime = field(default_factory=timezone.now)
    error: dict | None = None  # {"status", "code", "title", "detail", "request_id"}
    requests: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def enabled(self) -> list[Dataflow]:
        return [dataflow for dataflow in self.dataflows if dataflow.enabled]

    @property
    def disabled(self) -> list[Dataflow]:
        return [dataflow for dataflow in self.dataflows if not dataflow.enabled]

    @property
    def ids(self) -> set[str]:
        return {dataflow.id for dataflow in self.dataflows}

    @property
    def guarded(self) -> bool:
        """Enabled dataflows depend on the removal: it needs an acknowledgement and one more approval."""
        return bool(self.enabled)

    def new_since(self, earlier: Impact | None) -> list[Dataflow]:
        """Dependent dataflows ``earlier`` did not list (all of them when there was no earlier reading)."""
        known = earlier.ids if earlier is not None else set()
        return [dataflow for dataflow in self.dataflows if dataflow.id not in known]

    def changed_since(self, earlier: Impact | None) -> list[Dataflow]:
        """What the reviewers did not see: dependent dataflows ``earlier`` did not list, and enabled ones it
        listed as disabled (an approval more may be due)."""
        enabled_before = {dataflow.id for dataflow in earlier.enabled} if earlier is not None else set()
        known = earlier.ids if earlier is not None else set()
        return [
            dataflow
            for dataflow in self.dataflows
            if dataflow.id not in known or (dataflow.enabled and dataflow.id not in enabled_before)
        ]

    def summary(self, names: dict[str, str] | None = None) -> str:
        """``removing Zoho CRM affects 3 dataflows in prod (2 enabled)``; or why it is not known."""
        names = names or {}
        what = " and ".join(names.get(spec_id) or spec_id for spec_id in self.removed) or "nothing"
        if not self.ok:
            return f"the dataflows that use {what} in {self.sandbox} could not be read"
        count = len(self.dataflows)
        if not count:
            return f"removing {what} affects no dataflow in {self.sandbox}"
        plural = "s" if count != 1 else ""
        return f"removing {what} affects {count} dataflow{plural} in {self.sandbox} ({len(self.enabled)} enabled)"

    def text(self) -> str:
        """The reading in one line, for the audit log."""
        when = self.checked_at.isoformat(timespec="seconds")
        if not self.ok:
            return f"Dependent dataflows could not be read at {when}: {error_text(self.error)}"
        if not self.dataflows:
            return f"No dataflow depended on the removal (checked {when})."
        listed = "; ".join(
            f"{dataflow.name} ({dataflow.id}, {dataflow.state}"
            + (f", last run {dataflow.last_run}" if dataflow.last_run else "")
            + ")"
            for dataflow in self.dataflows
        )
        return f"Dependent dataflows (checked {when}): {listed}."

    def as_dict(self) -> dict:
        return {
            "sandbox": self.sandbox,
            "spec_id": self.spec_id,
            "removed": list(self.removed),
            "dataflows": [
                {**asdict(dataflow), "connection_spec_ids": list(dataflow.connection_spec_ids)}
                for dataflow in self.dataflows
            ],
            "checked_at": self.checked_at.isoformat(),
            "error": self.error,
            "requests": self.requests,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> Impact | None:
        if not isinstance(data, dict):
            return None
        return cls(
            sandbox=data.get("sandbox", ""),
            spec_id=data.get("spec_id", ""),
            removed=tuple(data.get("removed") or ()),
            dataflows=tuple(
                Dataflow(**{**item, "connection_spec_ids": tuple(item.get("connection_spec_ids") or ())})
                for item in data.get("dataflows") or ()
            ),
            checked_at=parse_datetime(data.get("checked_at") or "") or timezone.now(),
            error=data.get("error"),
            requests=data.get("requests") or 0,
        )


def error_text(error: dict | None) -> str:
    if not error:
        return ""
    text = error.get("title") or "error"
    if error.get("detail"):
        text += f": {error['detail']}"
    if error.get("status"):
        text += f" (HTTP {error['status']})"
    if error.get("request_id"):
        text += f" (request id {error['request_id']})"
    return text


def removed_key(removed: Iterable[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(set(removed))).encode("utf-8")).hexdigest()


# --- reading -------------------------------------------------------------------------------
def _spec_ids_of(sources: Sequence) -> list[str] | None:
    """The connection spec ids of a dataflow's inherited source connections; None when it does not say."""
    if not isinstance(sources, list) or not sources:
        return None
    found = []
    for source in sources:
        spec = source.get("connectionSpec") if isinstance(source, dict) else None
        spec_id = spec.get("id") if isinstance(spec, dict) else None
        if not isinstance(spec_id, str):
            return None
        found.append(id_key(spec_id))
    return found


def _dataflow(document: dict, spec_ids: list[str], removed: set[str]) -> Dataflow:
    last = document.get("lastRunDetails") if isinstance(document.get("lastRunDetails"), dict) else {}
    started = last.get("startedAtUTC")
    return Dataflow(
        id=str(document.get("id", "")),
        name=str(document.get("name") or document.get("id", "")),
        state=str(document.get("state") or "unknown").lower(),
        last_run=str(last.get("state") or ""),
        last_run_at=started if isinstance(started, int) else None,
        connection_spec_ids=tuple(sorted({spec_id for spec_id in spec_ids if spec_id in removed})),
    )


def _flow_spec_of(document: dict) -> str:
    spec = document.get("flowSpec")
    spec_id = spec.get("id") if isinstance(spec, dict) else None
    return id_key(spec_id)


def _source_specs(client, sandbox: str, source_ids: list[str]) -> dict[str, str]:
    """Source connection id -> its connection spec id, for ids whose dataflow did not say (few requests)."""
    found: dict[str, str] = {}
    for start in range(0, len(source_ids), SOURCE_IDS_PER_REQUEST):
        chunk = source_ids[start : start + SOURCE_IDS_PER_REQUEST]
        for source in client.list_source_connections(sandbox, properties=[f"id=={','.join(chunk)}"]):
            spec = source.get("connectionSpec") if isinstance(source.get("connectionSpec"), dict) else {}
            if isinstance(source.get("id"), str) and isinstance(spec.get("id"), str):
                found[id_key(source["id"])] = id_key(spec["id"])
    return found


def _candidates(client, sandbox: str, spec_id: str, removed: set[str]) -> list[dict]:
    """The flow spec's dataflows the Flow Service says use a removed id: one listing (paged), one more per
    `IDS_PER_FILTER` removed ids beyond the first (a filter value stays a reasonable URL)."""
    ordered, found = sorted(removed), {}
    for start in range(0, len(ordered), IDS_PER_FILTER):
        chunk = ordered[start : start + IDS_PER_FILTER]
        for flow in client.list_flows(
            sandbox,
            properties=[
                f"flowSpec.id=={spec_id}",
                f"inheritedAttributes.sourceConnections[].connectionSpec.id=={','.join(chunk)}",
            ],
            limit=settings.FLOWADMIN_IMPACT_PAGE_SIZE,
        ):
            found.setdefault(str(flow.get("id", "")), flow)
    return [flow for flow in found.values() if _flow_spec_of(flow) == spec_id]


def _dependents(client, sandbox: str, spec_id: str, removed: set[str]) -> list[Dataflow]:
    flows = _candidates(client, sandbox, spec_id, removed)
    unsaid: list[str] = []
    for flow in flows:
        inherited = flow.get("inheritedAttributes") if isinstance(flow.get("inheritedAttributes"), dict) else {}
        if _spec_ids_of(inherited.get("sourceConnections")) is None:
            unsaid += [str(item).lower() for item in flow.get("sourceConnectionIds") or [] if isinstance(item, str)]
    looked_up = _source_specs(client, sandbox, sorted(set(unsaid))) if unsaid else {}
    dependents = []
    for flow in flows:
        inherited = flow.get("inheritedAttributes") if isinstance(flow.get("inheritedAttributes"), dict) else {}
        spec_ids = _spec_ids_of(inherited.get("sourceConnections"))
        if spec_ids is None:
            spec_ids = [looked_up.get(str(item).lower(), "") for item in flow.get("sourceConnectionIds") or []]
        if removed.intersection(spec_ids):
            dependents.append(_dataflow(flow, spec_ids, removed))
    return sorted(dependents, key=lambda dataflow: (not dataflow.enabled, dataflow.name.lower(), dataflow.id))


def impact_read(*, sandbox: str, spec_id: str, removed: Sequence[str], client=None) -> Impact:
    """Read the dependent dataflows now (HTTP only, nothing stored); a failure is the reading's ``error``."""
    client = client or flow_service()
    removed_set = set(id_keys(removed))
    spec_id = id_key(spec_id)
    base = {"sandbox": sandbox, "spec_id": spec_id, "removed": tuple(sorted(removed_set))}
    with client.recording() as exchanges:
        try:
            dataflows = _dependents(client, sandbox, spec_id, removed_set)
        except FlowServiceError as error:
            failure = {
                "status": error.status,
                "code": error.code or "",
                "title": error.title or "The Flow Service failed",
                "detail": error.detail or "",
                "request_id": error.request_id or "",
            }
            return Impact(**base, error=failure, requests=len(exchanges))
    return Impact(**base, dataflows=tuple(dataflows), requests=len(exchanges))


# --- the cache -----------------------------------------------------------------------------
def impact_store(impact: Impact) -> Impact:
    RemovalImpact.objects.update_or_create(
        sandbox=impact.sandbox,
        spec_id=impact.spec_id,
        removed_key=removed_key(impact.removed),
        defaults={
            "removed_ids": list(impact.removed),
            "dataflows": impact.as_dict()["dataflows"],
            "error": impact.error,
            "requests": impact.requests,
            "checked_at": impact.checked_at,
        },
    )
    return impact


def impact_cached(*, sandbox: str, spec_id: str, removed: Sequence[str]) -> Impact | None:
    """The last reading kept for this removal, or None."""
    row = RemovalImpact.objects.filter(
        sandbox=sandbox, spec_id=id_key(spec_id), removed_key=removed_key(id_keys(removed))
    ).first()
    if row is None:
        return None
    return Impact.from_dict(
        {
            "sandbox": row.sandbox,
            "spec_id": row.spec_id,
            "removed": row.removed_ids,
            "dataflows": row.dataflows,
            "checked_at": row.checked_at.isoformat(),
            "error": row.error,
            "requests": row.requests,
        }
    )


def impact_check(
    *, sandbox: str, spec_id: str, removed: Sequence[str], max_age: float = FRESH_SECONDS
) -> Impact | None:
    """The dependent dataflows of removing ``removed`` (None when nothing is removed): a kept reading
    younger than ``max_age`` seconds (a failed one: younger than `FAILED_SECONDS`, so a live preview does
    not wait for the Flow Service's retries at every keystroke), else a new one (kept). ``max_age=0``
    always reads (the review page, the apply)."""
    if not removed:
        return None
    if max_age > 0:
        kept = impact_cached(sandbox=sandbox, spec_id=spec_id, removed=removed)
        reuse = max_age if kept is not None and kept.ok else min(max_age, FAILED_SECONDS)
        if kept is not None and timezone.now() - kept.checked_at < timedelta(seconds=reuse):
            return kept
    return impact_store(impact_read(sandbox=sandbox, spec_id=spec_id, removed=removed))
