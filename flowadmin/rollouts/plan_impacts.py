"""The dataflows each step of a planned rollout would cut off (read over HTTP, kept a minute)."""

from __future__ import annotations

from flowadmin.changes.impact import impact_check
from flowadmin.changes.proposal_checks import impact_context


def plan_rows(steps) -> list[tuple]:
    """``(step, impact context)`` per planned step; the context is empty for a step that removes nothing
    or still has problems (nothing is read for it)."""
    rows = []
    for step in steps:
        shown = {}
        if step.removed and not step.problems:
            impact = impact_check(sandbox=step.sandbox.name, spec_id=step.spec.spec_id, removed=list(step.removed))
            names = {ref.spec_id: ref.name for ref in step.change.removed}
            shown = impact_context(impact, names=names)
        rows.append((step, shown))
    return rows
