"""What a rollout would do in each sandbox, before anything is saved: reads the cache (and a live lookup).

The new-rollout page's preview and `services.rollout_propose` both go through `rollout_plan`, so the
page shows exactly the problems the proposal would be refused for. Each sandbox gets the ids the
rollout adds that its copy lacks, and loses the ids it removes that its copy lists; an added id must
be a connection spec of that sandbox and not be used by another of its flow specs (the rules of a
single change request, `flowadmin.changes.ids`); one the sandbox's cache lacks is looked up in its
Flow Service first (`flowadmin.changes.lookups`), which caches what it finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flowadmin import documents
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes import preview
from flowadmin.changes import selectors as changes_selectors
from flowadmin.changes.ids import IdContext, IdList, ids_apply, ids_check, ids_text, max_ids
from flowadmin.changes.lookups import context_looked_up
from flowadmin.changes.models import ChangeRequest
from flowadmin.documents.ids import id_keys

UNKNOWN_HERE = "{id} is not a connection spec of sandbox “{sandbox}” (as last synced)."
REMOTE_UNKNOWN_HERE = (
    "{id} is not a connection spec of sandbox “{sandbox}”: the Flow Service of sandbox “{sandbox}” does not know it."
)
LOOKUP_FAILED_HERE = "{id} is not cached for sandbox “{sandbox}”, and {why}."
FOUND_NOW_HERE = (
    "{id} is not in the last sync of sandbox “{sandbox}”: its Flow Service knows it as “{name}” (looked up live)."
)
ATTACHED_HERE = "{id} is already used by flow spec “{name}” ({spec_id}) of sandbox “{sandbox}”."
NOTHING_HERE = "Sandbox “{sandbox}” already has this change: leave it out."
TOO_MANY_HERE = "The flow spec of sandbox “{sandbox}” would list {count:,} ids: a proposal can hold at most {limit:,}."
EMPTY_HERE = "The flow spec of sandbox “{sandbox}” would be left with no source connection spec id."
OPEN_HERE = (
    "Change request #{pk} ({status}) is open for this flow spec in sandbox “{sandbox}”: it must be decided first."
)


def ids_parse(text: str) -> IdList:
    """The ids of a textarea (one a line), with the per-line messages of malformed and repeated lines only."""
    return ids_check(text or "", context=IdContext(sandbox="", check_known=False))


@dataclass(frozen=True)
class StepPlan:
    position: int
    spec: FlowSpec
    added: tuple[str, ...]  # what this sandbox gets: the rollout's additions it lacks
    removed: tuple[str, ...]  # the rollout's removals it lists
    ids: tuple[str, ...]  # its new list
    problems: tuple[str, ...]
    change: preview.DocumentChange
    open_request: ChangeRequest | None
    notes: tuple[str, ...] = ()  # do not block: ids just looked up in the sandbox's Flow Service

    @property
    def sandbox(self):
        return self.spec.sandbox

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)

    @property
    def ok(self) -> bool:
        return not self.problems


def step_plan(*, spec: FlowSpec, position: int, added: Sequence[str], removed: Sequence[str]) -> StepPlan:
    sandbox = spec.sandbox.name
    current = documents.source_ids(spec.document)
    current_set = set(id_keys(current))
    step_added = tuple(spec_id for spec_id in added if spec_id not in current_set)
    step_removed = tuple(spec_id for spec_id in removed if spec_id in current_set)
    ids = tuple(ids_apply(current, added=step_added, removed=step_removed))
    context = context_looked_up(changes_selectors.id_context(flow_spec=spec), ids_text(step_added))
    problems: list[str] = []
    notes: list[str] = []
    for spec_id in step_added:
        if spec_id not in context.names:
            problems.append(_unknown_here(context, spec_id))
        elif spec_id in context.found_now:
            notes.append(FOUND_NOW_HERE.format(id=spec_id, sandbox=sandbox, name=context.names[spec_id]))
        other = context.attached.get(spec_id)
        if other is not None:
            problems.append(
                ATTACHED_HERE.format(
                    id=spec_id, name=other.name or other.spec_id, spec_id=other.spec_id, sandbox=sandbox
                )
            )
    if not (step_added or step_removed):
        problems.append(NOTHING_HERE.format(sandbox=sandbox))
    elif not ids:
        problems.append(EMPTY_HERE.format(sandbox=sandbox))
    elif len(ids) > max_ids():
        problems.append(TOO_MANY_HERE.format(sandbox=sandbox, count=len(ids), limit=max_ids()))
    open_request = changes_selectors.change_request_open_for(sandbox=sandbox, spec_id=spec.spec_id)
    if open_request is not None:
        problems.append(OPEN_HERE.format(pk=open_request.pk, status=open_request.status, sandbox=sandbox))
    change = preview.document_change(
        base=spec.document,
        proposed=documents.with_source_ids(spec.document, list(ids)),
        added=step_added,
        removed=step_removed,
        names=dict(context.names),
    )
    return StepPlan(
        position=position,
        spec=spec,
        added=step_added,
        removed=step_removed,
        ids=ids,
        problems=tuple(problems),
        change=change,
        open_request=open_request,
        notes=tuple(notes),
    )


def _unknown_here(context: IdContext, spec_id: str) -> str:
    sandbox = context.sandbox
    if spec_id in context.remote_missing:
        return REMOTE_UNKNOWN_HERE.format(id=spec_id, sandbox=sandbox)
    if spec_id in context.lookup_failed:
        return LOOKUP_FAILED_HERE.format(id=spec_id, sandbox=sandbox, why=context.lookup_failed[spec_id])
    return UNKNOWN_HERE.format(id=spec_id, sandbox=sandbox)


def rollout_plan(*, specs: Sequence[FlowSpec], added: Sequence[str], removed: Sequence[str]) -> list[StepPlan]:
    """One `StepPlan` per flow spec copy, in the order given (the rollout's order)."""
    return [
        step_plan(spec=spec, position=position, added=added, removed=removed)
        for position, spec in enumerate(specs, start=1)
    ]
