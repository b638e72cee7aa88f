"""The id check's context completed by a live lookup: ids a proposal adds that the cache lacks are
asked of the sandbox's Flow Service (`flowadmin.catalog.lookup`) before the list is judged.

The edit page's preview and submit, the propose and edit services and each step of a rollout's plan
build their context here, so they agree: an id the Flow Service knows is accepted with its name (and
cached), one it does not know is refused with that reason, a failed lookup says so.
"""

from __future__ import annotations

from dataclasses import replace

from flowadmin.catalog.lookup import connection_specs_look_up, connection_specs_looked_up_since_sync
from flowadmin.catalog.models import FlowSpec
from flowadmin.changes import selectors
from flowadmin.changes.common import flow_service
from flowadmin.changes.ids import IdContext, ids_added


def context_looked_up(context: IdContext, text: str) -> IdContext:
    """``context`` with what a live lookup says of the ids ``text`` adds that it does not know, and
    which of the ids it adds were looked up live since the sandbox's last sync (`found_now`)."""
    added = ids_added(text, context=context) if context.check_known else []
    if not added:
        return context
    unknown = [spec_id for spec_id in added if spec_id not in context.names]
    result = connection_specs_look_up(sandbox=context.sandbox, ids=unknown, client=flow_service()) if unknown else None
    known_before = [spec_id for spec_id in added if spec_id in context.names]
    recent = connection_specs_looked_up_since_sync(sandbox=context.sandbox, ids=known_before)
    if result is None or not result.looked_up:
        return replace(context, found_now=recent) if recent else context
    return replace(
        context,
        names={**context.names, **result.found},
        found_now=recent | frozenset(result.found),
        remote_missing=result.missing,
        lookup_failed=dict(result.failed),
    )


def id_context_looked_up(*, flow_spec: FlowSpec, text: str, current: list[str] | None = None) -> IdContext:
    """`selectors.id_context` for ``flow_spec``, completed by a live lookup of the ids ``text`` adds."""
    return context_looked_up(selectors.id_context(flow_spec=flow_spec, current=current), text)
