"""Reads of the "Onboard a source" page: the source as cached, the flow specs it could join, ranked by
the rules (`flowadmin.onboarding.rules`), and where each already carries it, per sandbox.

A constant number of queries whatever the number of sandboxes and flow specs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecSource, Sandbox
from flowadmin.changes.models import ChangeRequest
from flowadmin.changes.selectors import LIST_DEFERRED, connection_specs_unused, open_q
from flowadmin.onboarding.rules import Candidate, Fit, Sibling, Source, rank
from flowadmin.rollouts.selectors import sandbox_order_key

# What one flow spec is, in one sandbox, for the source.
ATTACHED = "attached"  # lists it already
AVAILABLE = "available"  # can be given it
ABSENT = "absent"  # the flow spec is not cached in that sandbox
OPEN = "open"  # a change request of the flow spec is open there: it must be decided first
ELSEWHERE = "elsewhere"  # another flow spec of that sandbox lists it


@dataclass(frozen=True)
class Placement:
    sandbox: Sandbox
    state: str
    other: str = ""  # the other flow spec's name (ELSEWHERE)
    open_pk: int | None = None  # the open change request (OPEN)

    @property
    def can_add(self) -> bool:
        return self.state == AVAILABLE


@dataclass(frozen=True)
class Suggestion:
    fit: Fit
    placements: tuple[Placement, ...]

    @property
    def spec_id(self) -> str:
        return self.fit.candidate.spec_id

    @property
    def attached_in(self) -> list[str]:
        return [p.sandbox.name for p in self.placements if p.state == ATTACHED]


def onboarding_sandboxes() -> list[Sandbox]:
    """The active sandboxes, development first and production last (a rollout's default order)."""
    return sorted(Sandbox.objects.filter(state="active"), key=sandbox_order_key)


def source_cached(*, sandbox: str, spec_id: str) -> Source | None:
    """The connection spec as the cache of ``sandbox`` holds it."""
    row = ConnectionSpec.objects.filter(sandbox__name=sandbox, spec_id__iexact=spec_id).first()
    if row is None:
        return None
    return Source(
        spec_id=row.spec_id.lower(),
        name=row.name,
        provider_id=row.provider_id,
        category=row.category,
        frequency=row.frequency,
    )


def unused_sources(*, sandbox: str):
    """Connection specs of ``sandbox`` no flow spec lists yet (the page's picker)."""
    return connection_specs_unused(sandbox=sandbox)


def suggestions(*, source: Source, sandboxes: list[Sandbox]) -> list[Suggestion]:
    """Every flow spec cached in ``sandboxes``, ranked for ``source``, with its state in each sandbox."""
    names = [sandbox.name for sandbox in sandboxes]
    rows = list(
        FlowSpec.objects.filter(sandbox__name__in=names, vanished_at__isnull=True)
        .order_by("name", "spec_id")
        .values_list("pk", "spec_id", "name", "provider_id", "frequency", "sandbox__name")
    )
    if not rows:
        return []
    sources_of: dict[int, list[str]] = defaultdict(list)
    for flow_spec_pk, connection_spec_id in FlowSpecSource.objects.filter(
        flow_spec_id__in=[row[0] for row in rows], role=FlowSpecSource.Role.SOURCE
    ).values_list("flow_spec_id", "connection_spec_id"):
        sources_of[flow_spec_pk].append(connection_spec_id.lower())
    known = _connection_specs(ids={spec_id for ids in sources_of.values() for spec_id in ids})
    open_requests = {
        (sandbox, spec_id): pk
        for sandbox, spec_id, pk in ChangeRequest.objects.defer(*LIST_DEFERRED)
        .filter(open_q(), sandbox__in=names)
        .values_list("sandbox", "spec_id", "pk")
    }
    copies: dict[str, dict[str, tuple]] = defaultdict(dict)  # spec_id -> sandbox -> row
    for row in rows:
        copies[row[1]][row[5]] = row
    holder: dict[str, str] = {}  # sandbox -> name of the flow spec that lists the source
    for pk, _spec_id, name, _provider, _frequency, sandbox in rows:
        if source.spec_id in sources_of.get(pk, ()):
            holder.setdefault(sandbox, name)
    candidates = []
    for spec_id, by_sandbox in copies.items():
        first = next(iter(by_sandbox.values()))
        sibling_ids = dict.fromkeys(i for row in by_sandbox.values() for i in sources_of.get(row[0], ()))
        candidates.append(
            Candidate(
                spec_id=spec_id,
                name=first[2],
                provider_id=first[3],
                frequency=first[4],
                siblings=tuple(known.get(i, Sibling(spec_id=i)) for i in sibling_ids if i != source.spec_id),
            )
        )
    by_name = {sandbox.name: sandbox for sandbox in sandboxes}
    result = []
    for fitted in rank(source, candidates):
        spec_id = fitted.candidate.spec_id
        placements = tuple(
            _placement(by_name[name], copies[spec_id].get(name), sources_of, source, holder, open_requests)
            for name in names
        )
        result.append(Suggestion(fit=fitted, placements=placements))
    return result


def _placement(sandbox, row, sources_of, source: Source, holder, open_requests) -> Placement:
    if row is None:
        return Placement(sandbox=sandbox, state=ABSENT)
    if source.spec_id in sources_of.get(row[0], ()):
        return Placement(sandbox=sandbox, state=ATTACHED)
    if sandbox.name in holder:
        return Placement(sandbox=sandbox, state=ELSEWHERE, other=holder[sandbox.name])
    open_pk = open_requests.get((sandbox.name, row[1]))
    if open_pk is not None:
        return Placement(sandbox=sandbox, state=OPEN, open_pk=open_pk)
    return Placement(sandbox=sandbox, state=AVAILABLE)


def _connection_specs(*, ids: set[str]) -> dict[str, Sibling]:
    """The cached facts of connection specs, whatever sandbox cached them (one row per id)."""
    found: dict[str, Sibling] = {}
    rows = ConnectionSpec.objects.filter(spec_id__in=ids).values_list("spec_id", "name", "provider_id", "category")
    for spec_id, name, provider_id, category in rows.order_by("spec_id", "-fetched_at"):
        found.setdefault(
            spec_id.lower(), Sibling(spec_id=spec_id.lower(), name=name, provider_id=provider_id, category=category)
        )
    return found
