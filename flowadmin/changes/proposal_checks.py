"""What the live preview shows beside the diff: the removal's dependent dataflows, the added ids' warnings."""

from __future__ import annotations

from flowadmin.changes.additions import addition_warnings
from flowadmin.changes.impact import Impact, impact_check


def impact_context(impact: Impact | None, *, names: dict[str, str], earlier: Impact | None = None) -> dict:
    """The template's view of a reading: it, its sentence, and the ids of dataflows ``earlier`` lacked."""
    if impact is None:
        return {"impact": None, "impact_summary": "", "impact_new": set()}
    new = {dataflow.id for dataflow in impact.new_since(earlier)} if earlier is not None else set()
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
