"""Names for the ids pages, events, exports and e-mails show: flow specs, connection specs, sandboxes.

    names = names_for(flow_specs=[cr.spec_id for cr in page], sandboxes=[cr.sandbox for cr in page])
    names.spec("04e0fcbb-…")          -> "Zoho CRM" ("" when the cache does not know the id)
    names.labelled("04e0fcbb-…")      -> "Zoho CRM (04e0fcbb…)" (the bare id when unknown)
    names.sandbox_title("prod")       -> "Production" ("" when the sandbox has no title of its own)

One query for everything a page shows, whatever its length: the flow spec, connection spec and
sandbox names it asks for in one UNION (only the kinds it asks for). Templates show them with
``{% spec_ref id names %}`` and ``{% sandbox_ref name names %}`` (`flowadmin.templatetags.display`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import CharField, Value

from flowadmin.catalog.models import ConnectionSpec, FlowSpec, Sandbox
from flowadmin.documents.ids import id_key

SHORT_ID_LENGTH = 8


def short_id(spec_id: str) -> str:
    """The first 8 characters of an id and "…": enough to tell ids apart when the name is beside it."""
    spec_id = str(spec_id or "")
    return spec_id[:SHORT_ID_LENGTH] + "…" if len(spec_id) > SHORT_ID_LENGTH + 1 else spec_id


@dataclass(frozen=True)
class Names:
    """Names found for a set of ids; an id it does not know gets "" (callers show the id alone)."""

    specs: dict[str, str] = field(default_factory=dict)  # flow or connection spec id (lower case) -> name
    sandboxes: dict[str, str] = field(default_factory=dict)  # sandbox name -> title

    def spec(self, spec_id) -> str:
        return self.specs.get(id_key(spec_id), "")

    def labelled(self, spec_id) -> str:
        """``Name (04e0fcbb…)``, or the whole id when no name is known."""
        name = self.spec(spec_id)
        return f"{name} ({short_id(spec_id)})" if name else str(spec_id)

    def labelled_list(self, spec_ids: Iterable[str]) -> str:
        return ", ".join(self.labelled(spec_id) for spec_id in spec_ids)

    def sandbox_title(self, name) -> str:
        """The sandbox's title when it has one that differs from its name, else ""."""
        title = self.sandboxes.get(str(name or ""), "")
        return title if title and title != name else ""


NO_NAMES = Names()


def _ids(spec_ids: Iterable[str]) -> set[str]:
    wanted = {str(spec_id).strip() for spec_id in spec_ids if spec_id and str(spec_id).strip()}
    return wanted | {spec_id.lower() for spec_id in wanted}


def names_for(
    *, flow_specs: Iterable[str] = (), connection_specs: Iterable[str] = (), sandboxes: Iterable[str] = ()
) -> Names:
    """The names of the ``flow_specs`` and ``connection_specs`` ids (in any sandbox's cache) and the titles
    of ``sandboxes``: one query, none when there is nothing to look up."""
    wanted_flow_specs, wanted_connection_specs = _ids(flow_specs), _ids(connection_specs)
    sandbox_names = {str(name) for name in sandboxes if name}
    if not (wanted_flow_specs or wanted_connection_specs or sandbox_names):
        return NO_NAMES
    kind = lambda value: Value(value, output_field=CharField())  # noqa: E731
    queries = []
    for model, wanted in ((FlowSpec, wanted_flow_specs), (ConnectionSpec, wanted_connection_specs)):
        if wanted:
            queries.append(
                model.objects.filter(spec_id__in=wanted)
                .exclude(name="")
                .annotate(kind=kind("s"))
                .values_list("kind", "spec_id", "name")
                .order_by()
            )
    if sandbox_names:
        queries.append(
            Sandbox.objects.filter(name__in=sandbox_names)
            .exclude(title="")
            .annotate(kind=kind("b"))
            .values_list("kind", "name", "title")
            .order_by()
        )
    rows = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
    specs: dict[str, str] = {}
    titles: dict[str, str] = {}
    for row_kind, key, name in rows:
        if row_kind == "b":
            titles[key] = name
        else:
            specs.setdefault(id_key(key), name)
    return Names(specs=specs, sandboxes=titles)
