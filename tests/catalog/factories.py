"""Cached data for tests, written through the catalog's own services so every table stays in step."""

from __future__ import annotations

from flowadmin.catalog.models import ConnectionSpec, FlowSpec, Sandbox
from flowadmin.catalog.services import flowspec_cache_store
from tests.catalog.fakes import flow_spec


def make_sandbox(name: str = "dev", **fields) -> Sandbox:
    fields.setdefault("title", name.title())
    fields.setdefault("type", "development")
    return Sandbox.objects.create(name=name, **fields)


def make_flowspec(sandbox: Sandbox, spec_id: str, name: str, **document_fields) -> FlowSpec:
    return flowspec_cache_store(
        sandbox_name=sandbox.name, document=flow_spec(spec_id, name, **document_fields), origin="sync"
    )


def make_connection_spec(sandbox: Sandbox, spec_id: str, name: str) -> ConnectionSpec:
    return ConnectionSpec.objects.create(sandbox=sandbox, spec_id=spec_id, name=name)


def numbered_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"
