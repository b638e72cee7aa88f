"""What the pages show beside a change: the removal's dependent dataflows (the live preview, a request's
page), and the live preview's warnings about added ids."""

from __future__ import annotations

from flowadmin.changes.additions import addition_warnings
from flowadmin.changes.impact import Impact, impact_cached, impact_check
from flowadmin.changes.models import ChangeRequest

# A request still to be applied: its page reads the dependent dataflows anew.
LIVE_STATUSES = (
    ChangeRequest.Status.PENDING,
    ChangeRequest.Status.STALE,
    ChangeRequest.Status.FAILED,
    ChangeRequest.Status.APPLYING,
)


def impact_context(impact: Impact | None, *, names: dict[str, str], earlier: Impact | None = None) -> dict:
    """The template's view of a reading: it, its sentence, and the ids of dataflows ``earlier`` lacked."""
    if impact is None:
        return {"impact": None, "impact_summary": "", "impact_new": set()}
    new = {dataflow.id for dataflow in impact.changed_since(earlier)} if earlier is not None else set()
    return {"impact": impact, "impact_summary": impact.summary(names), "impact_new": new}


def proposal_checks(*, spec, form) -> dict:
    """For a list without problems (``form``: the bound `ChangeRequestForm`): the dependent dataflows of
    what it removes (kept a minute), whether the author ticked "I have checked these N dataflows" for
    exactly that many, and warnings about what it adds. Nothing is read while the list has problems."""
    parsed, names = form.parsed, dict(form.context.names)
    if not parsed.ok:
        return {**impact_context(None, names=names), "addition_warnings": [], "impact_ticked": False}
    sandbox = spec.sandbox.name
    impact = impact_check(sandbox=sandbox, spec_id=spec.spec_id, removed=list(parsed.removed))
    warnings = addition_warnings(sandbox=sandbox, flow_spec=spec.document, added=list(parsed.added))
    ticked = bool(
        impact is not None
        and form.acknowledge_ticked
        and form.data.get(form.add_prefix("impact_count")) == str(len(impact.dataflows))
    )
    return {**impact_context(impact, names=names), "addition_warnings": warnings, "impact_ticked": ticked}


def change_request_impact(change_request: ChangeRequest, *, names: dict[str, str], fresh: bool = False) -> dict:
    """A request's panel: the last reading of its removal kept (``fresh``: read anew, for a request still
    to be applied), the dataflows it was proposed with as the reference for "new or enabled since proposed"."""
    live = bool(change_request.removed_ids) and change_request.status in LIVE_STATUSES
    earlier = Impact.from_dict(change_request.impact)
    impact = None
    if change_request.removed_ids:
        where = {"sandbox": change_request.sandbox, "spec_id": change_request.spec_id}
        if fresh and live:
            impact = impact_check(**where, removed=change_request.removed_ids, max_age=0)
        else:
            impact = impact_cached(**where, removed=change_request.removed_ids) or earlier
    return {**impact_context(impact, names=names, earlier=earlier), "impact_live": live, "impact_fresh": fresh}
