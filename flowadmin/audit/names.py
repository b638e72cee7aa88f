"""The names of what audit events point at (flow specs, sandboxes), looked up once for a page of them."""

from collections.abc import Iterable

from flowadmin.catalog.names import Names, names_for


def page_names(events: Iterable) -> Names:
    """Names for the flow specs and sandboxes of ``events`` (model instances or export rows): one query."""
    events = list(events)
    return names_for(
        flow_specs=[_field(event, "spec_id") for event in events],
        sandboxes=[_field(event, "sandbox") for event in events],
    )


def _field(event, name: str) -> str:
    return event.get(name, "") if isinstance(event, dict) else getattr(event, name, "")
