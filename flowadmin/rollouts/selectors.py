"""Reads for rollouts: the sandboxes a flow spec can be rolled out to, rollouts and their steps, the drift matrix."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from flowadmin import documents
from flowadmin.accounts.roles import APPROVE_CHANGE
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, Sandbox
from flowadmin.changes.models import ChangeRequest
from flowadmin.documents.ids import id_key
from flowadmin.rollouts.models import Rollout, RolloutApproval, RolloutStep

ROLLOUT_NOT_FOUND = "No rollout #{pk}."
STEP_NOT_FOUND = "Rollout #{pk} has no step {position}."
SPEC_NOT_CACHED_ANYWHERE = "No sandbox has flow spec “{spec_id}” cached: sync the sandboxes first."
SHOW_CHOICES = {"open": "Open", "awaiting": "Awaiting me", "mine": "Mine", "closed": "Closed", "all": "All"}
DEFAULT_SHOW = "open"
AUDIT_PREFIX = "Rollout #{pk}: "  # how every rollout.* event's detail starts (services write it, the trail reads it)
CR_DEFERRED = (
    "change_request__base_document",
    "change_request__proposed_document",
    "change_request__remote_document",
    "change_request__impact",
)


# --- sandboxes -----------------------------------------------------------------------------------
def sandbox_order_key(sandbox: Sandbox) -> tuple[int, str]:
    """The default rollout order: development sandboxes first, production last, by name within each."""
    rank = 0 if sandbox.type == "development" else 2 if sandbox.is_production else 1
    return rank, sandbox.name


def rollout_candidates(*, spec_id: str) -> list[FlowSpec]:
    """The cached (not vanished) copies of a flow spec in the active sandboxes, in the default order."""
    key = id_key(spec_id)
    if not key or "\x00" in key:
        return []
    specs = FlowSpec.objects.select_related("sandbox").filter(
        spec_id=key, vanished_at__isnull=True, sandbox__state="active"
    )
    return sorted(specs, key=lambda spec: sandbox_order_key(spec.sandbox))


def rollout_candidates_or_404(*, spec_id: str) -> list[FlowSpec]:
    candidates = rollout_candidates(spec_id=spec_id)
    if not candidates:
        raise Http404(SPEC_NOT_CACHED_ANYWHERE.format(spec_id=(spec_id or "").replace("\x00", "\\x00")[:80]))
    return candidates


# --- rollouts ------------------------------------------------------------------------------------
def rollout_get(*, pk: int) -> Rollout:
    rollout = Rollout.objects.select_related("author").filter(pk=pk).first()
    if rollout is None:
        raise Http404(ROLLOUT_NOT_FOUND.format(pk=pk))
    return rollout


def rollout_steps(*, rollout: Rollout, documents_too: bool = False) -> list[RolloutStep]:
    """The steps in their order, each with its change request (its documents only when asked for)."""
    steps = RolloutStep.objects.select_related("change_request").filter(rollout_id=rollout.pk)
    if not documents_too:
        steps = steps.defer(*CR_DEFERRED)
    return list(steps.order_by("position"))


def rollout_step_get(*, rollout: Rollout, position: int) -> RolloutStep:
    step = RolloutStep.objects.select_related("change_request").filter(rollout_id=rollout.pk, position=position).first()
    if step is None:
        raise Http404(STEP_NOT_FOUND.format(pk=rollout.pk, position=position))
    return step


def rollout_next_step(*, steps: list[RolloutStep]) -> RolloutStep | None:
    """The first step whose change is not applied yet."""
    return next((step for step in steps if step.change_request.status != ChangeRequest.Status.APPLIED), None)


def show_choice(value: str | None) -> str:
    return value if value in SHOW_CHOICES else DEFAULT_SHOW


def rollout_list(*, user, show: str = DEFAULT_SHOW) -> QuerySet[Rollout]:
    """``open``, ``awaiting`` (open rollouts of others not approved by this approver), ``mine``, ``closed``, ``all``."""
    rollouts = Rollout.objects.prefetch_related("steps")
    show = show_choice(show)
    if show == "open":
        rollouts = rollouts.filter(status__in=Rollout.OPEN_STATUSES)
    elif show == "awaiting":
        if not user.has_perm(APPROVE_CHANGE):
            return rollouts.none()
        approved = RolloutApproval.objects.filter(rollout=OuterRef("pk"), digest=OuterRef("digest"), approver=user)
        rollouts = rollouts.filter(status__in=(Rollout.Status.PENDING, Rollout.Status.STOPPED)).exclude(author=user)
        rollouts = rollouts.exclude(Exists(approved))
    elif show == "mine":
        rollouts = rollouts.filter(author=user)
    elif show == "closed":
        rollouts = rollouts.exclude(status__in=Rollout.OPEN_STATUSES)
    return rollouts.order_by("-created_at", "-id")


def rollouts_for_spec(*, spec_id: str, limit: int = 10) -> list[Rollout]:
    """A flow spec's rollouts, newest first, with their steps."""
    return list(
        Rollout.objects.prefetch_related("steps").filter(spec_id=spec_id).order_by("-created_at", "-id")[:limit]
    )


def rollout_events(*, rollout: Rollout) -> QuerySet[AuditEvent]:
    """The rollout's audit trail, oldest first: its own events and those of its steps' change requests."""
    requests = list(RolloutStep.objects.filter(rollout_id=rollout.pk).values_list("change_request_id", flat=True))
    rebased_from = ChangeRequest.objects.filter(rebased_into__id__in=requests).values_list("pk", flat=True)
    own = Q(
        action__startswith="rollout.", spec_id=rollout.spec_id, detail__startswith=AUDIT_PREFIX.format(pk=rollout.pk)
    )
    return (
        AuditEvent.objects.filter(own | Q(change_request_id__in=[*requests, *rebased_from]))
        .defer("before", "after", "patch", "search_text")
        .order_by("seq")
    )


# --- drift across sandboxes ----------------------------------------------------------------------
@dataclass(frozen=True)
class DriftCell:
    sandbox: str
    present: bool


@dataclass(frozen=True)
class DriftRow:
    spec_id: str  # a source connection spec id
    name: str
    cells: tuple[DriftCell, ...]
    in_reference: bool

    @property
    def differs(self) -> bool:
        return len({cell.present for cell in self.cells}) > 1


@dataclass(frozen=True)
class DriftColumn:
    sandbox: Sandbox
    spec: FlowSpec
    is_reference: bool
    to_add: tuple[str, ...]  # what bringing it in line with the reference adds
    to_remove: tuple[str, ...]

    @property
    def in_line(self) -> bool:
        return not (self.to_add or self.to_remove)


@dataclass(frozen=True)
class Drift:
    spec_id: str
    name: str
    reference: str
    columns: tuple[DriftColumn, ...]
    rows: tuple[DriftRow, ...]
    missing: tuple[str, ...]  # active sandboxes with no cached copy of the flow spec

    @property
    def differing(self) -> int:
        return sum(1 for row in self.rows if row.differs)

    @property
    def out_of_line(self) -> list[DriftColumn]:
        return [column for column in self.columns if not column.in_line]


def _source_set(spec: FlowSpec) -> list[str]:
    ids = documents.id_keys(documents.source_ids(spec.document))
    return list(dict.fromkeys(item for item in ids if item))


def flowspec_drift(*, spec_id: str, reference: str | None = None) -> Drift:
    """Which source connection spec ids each sandbox's copy of a flow spec lists, against a reference sandbox.

    Rows: every id any copy lists, those that differ between sandboxes first, then by name. The
    reference defaults to the first sandbox of the default order. `Http404` when no sandbox has it.
    """
    specs = rollout_candidates_or_404(spec_id=spec_id)
    by_sandbox = {spec.sandbox.name: spec for spec in specs}
    reference = reference if reference in by_sandbox else specs[0].sandbox.name
    listed = {name: _source_set(spec) for name, spec in by_sandbox.items()}
    all_ids = list(dict.fromkeys(item for ids in listed.values() for item in ids))
    names: dict[str, str] = {}
    for connection_id, name in ConnectionSpec.objects.filter(spec_id__in=all_ids).values_list("spec_id", "name"):
        if name and not names.get(connection_id.lower()):
            names[connection_id.lower()] = name
    reference_ids = set(listed[reference])
    rows = [
        DriftRow(
            spec_id=item,
            name=names.get(item, ""),
            cells=tuple(DriftCell(sandbox=name, present=item in set(ids)) for name, ids in listed.items()),
            in_reference=item in reference_ids,
        )
        for item in all_ids
    ]
    rows.sort(key=lambda row: (not row.differs, (row.name or "~").lower(), row.spec_id))
    columns = tuple(
        DriftColumn(
            sandbox=spec.sandbox,
            spec=spec,
            is_reference=name == reference,
            to_add=tuple(item for item in listed[reference] if item not in set(listed[name])),
            to_remove=tuple(item for item in listed[name] if item not in reference_ids),
        )
        for name, spec in by_sandbox.items()
    )
    missing = tuple(
        Sandbox.objects.filter(state="active")
        .exclude(name__in=list(by_sandbox))
        .order_by("name")
        .values_list("name", flat=True)
    )
    reference_spec = by_sandbox[reference]
    return Drift(
        spec_id=reference_spec.spec_id,
        name=reference_spec.name,
        reference=reference,
        columns=columns,
        rows=tuple(rows),
        missing=missing,
    )


# --- the new-rollout form's starting point -------------------------------------------------------
@dataclass(frozen=True)
class Prefill:
    initial: dict
    source: ChangeRequest | None = None
    reference: str = ""


def would_change(spec: FlowSpec, added, removed) -> bool:
    """Whether adding ``added`` and removing ``removed`` changes the spec's cached list."""
    ids = set(_source_set(spec))
    return any(item not in ids for item in added) or any(item in ids for item in removed)


def rollout_prefill(
    *, candidates: list[FlowSpec], from_change_request: str = "", sandbox: str = "", reference: str = ""
) -> Prefill:
    """What the new-rollout form starts with.

    * ``from_change_request``: that request's ids, ticking the sandboxes they would change and that
      have no open request;
    * ``reference`` (the drift view): the ids that bring ``sandbox`` (or every sandbox) in line with the
      reference sandbox, ticking those out of line;
    * otherwise nothing typed and every sandbox ticked.
    Positions follow the default order (development first, production last).
    """
    by_name = {spec.sandbox.name: spec for spec in candidates}
    spec_id = candidates[0].spec_id
    initial: dict = {"spec_id": spec_id, "add_ids": "", "remove_ids": "", "reason": ""}
    ticked = set(by_name)
    source = None
    if from_change_request.isdigit():
        source = ChangeRequest.objects.filter(pk=int(from_change_request), spec_id=spec_id).first()
    if source is not None:
        added, removed = list(source.added_ids), list(source.removed_ids)
        initial.update(
            add_ids="\n".join(added),
            remove_ids="\n".join(removed),
            reason=source.reason,
            source_change_request=source.pk,
        )
        open_here = set(
            ChangeRequest.objects.filter(
                Q(status__in=ChangeRequest.OPEN_STATUSES)
                | Q(status=ChangeRequest.Status.STALE, superseded_at__isnull=True),
                spec_id=spec_id,
            ).values_list("sandbox", flat=True)
        )
        ticked = {
            name for name, spec in by_name.items() if would_change(spec, added, removed) and name not in open_here
        }
    elif reference in by_name:
        reference_ids = _source_set(by_name[reference])
        targets = [sandbox] if sandbox in by_name and sandbox != reference else [n for n in by_name if n != reference]
        added: list[str] = []
        removed: list[str] = []
        for name in targets:
            listed = _source_set(by_name[name])
            added += [item for item in reference_ids if item not in listed and item not in added]
            removed += [item for item in listed if item not in reference_ids and item not in removed]
        initial.update(add_ids="\n".join(added), remove_ids="\n".join(removed))
        ticked = {name for name in targets if would_change(by_name[name], added, removed)}
    for index, spec in enumerate(candidates, start=1):
        initial[f"include_{spec.sandbox.name}"] = spec.sandbox.name in ticked
        initial[f"position_{spec.sandbox.name}"] = index
    return Prefill(initial=initial, source=source, reference=reference if reference in by_name else "")


def rollout_step_of(*, change_request: ChangeRequest) -> RolloutStep | None:
    """The rollout step a change request is, if any."""
    return RolloutStep.objects.select_related("rollout").filter(change_request_id=change_request.pk).first()
