"""A light look at the ids a proposal adds: warnings for the preview, never a refusal.

An added connection spec whose ``attributes`` say it is not a source (``isSource`` false, or a
destination only), or whose ``frequency`` (streaming / batch) is not the flow spec's, is most
likely the wrong id. The connection specs are read in one request (``property=id==a,b``) and kept
for a few minutes per sandbox and id, so a live preview does not ask again at every keystroke; so is
an id the Flow Service did not list.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.cache import cache

from flowadmin.changes.common import flow_service
from flowadmin.documents.ids import id_key, id_keys
from flowadmin.flowservice import FlowServiceError

KEPT_SECONDS = 300
NOT_SOURCE = "{name} ({id}) is not a source: its connection spec says {why}. This list holds sources only."
OTHER_FREQUENCY = (
    "{name} ({id}) is a {theirs} source and this flow spec serves {ours} sources: its dataflows would not run "
    "as this flow spec runs them."
)
UNREAD = "The added connection specs could not be read to check they are {ours} sources ({error})."


def _key(sandbox: str, spec_id: str) -> str:
    return f"changes:added-spec:{sandbox}:{spec_id}"


def _attributes(sandbox: str, ids: Sequence[str]) -> dict[str, dict]:
    """id -> {"name", "attributes"} of each added connection spec (kept ones first, the rest in one read)."""
    kept = cache.get_many([_key(sandbox, spec_id) for spec_id in ids])
    found = {spec_id: kept[_key(sandbox, spec_id)] for spec_id in ids if _key(sandbox, spec_id) in kept}
    missing = [spec_id for spec_id in ids if spec_id not in found]
    if missing:
        documents = flow_service().list_connection_specs(sandbox, properties=[f"id=={','.join(missing)}"])
        fresh: dict[str, dict] = {spec_id: {} for spec_id in missing}  # none listed: kept too, not asked again
        for document in documents:
            spec_id = id_key(document.get("id"))
            attributes = document.get("attributes") if isinstance(document.get("attributes"), dict) else {}
            fresh[spec_id] = {"name": str(document.get("name") or spec_id), "attributes": attributes}
        cache.set_many({_key(sandbox, spec_id): value for spec_id, value in fresh.items()}, KEPT_SECONDS)
        found.update(fresh)
    return found


def _not_source_why(attributes: dict) -> str:
    if attributes.get("isSource") is False:
        return "isSource false" + (", isDestination true" if attributes.get("isDestination") is True else "")
    if attributes.get("isDestination") is True and attributes.get("isSource") is not True:
        return "isDestination true"
    return ""


def addition_warnings(*, sandbox: str, flow_spec: dict, added: Sequence[str]) -> list[str]:
    """Why each added id looks wrong for ``flow_spec`` (a document), if it does; [] when all look right."""
    if not added:
        return []
    spec_attributes = flow_spec.get("attributes") if isinstance(flow_spec.get("attributes"), dict) else {}
    ours = str(spec_attributes.get("frequency") or "").lower()
    try:
        specs = _attributes(sandbox, id_keys(added))
    except FlowServiceError as error:
        return [UNREAD.format(ours=ours or "matching", error=error.title or error)]
    warnings = []
    for spec_id in added:
        found = specs.get(id_key(spec_id))
        if not found:
            continue  # unknown ids are the id list's own problem
        attributes, name = found["attributes"], found["name"]
        why = _not_source_why(attributes)
        if why:
            warnings.append(NOT_SOURCE.format(name=name, id=spec_id, why=why))
            continue
        theirs = str(attributes.get("frequency") or "").lower()
        if ours and theirs and theirs != ours:
            warnings.append(OTHER_FREQUENCY.format(name=name, id=spec_id, theirs=theirs, ours=ours))
    return warnings
