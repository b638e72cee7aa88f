"""Load the emulator's data from `specs/`.

- `specs/sandboxes.json`: the organization's sandboxes; an optional per-sandbox ``seed`` object
  makes a sandbox differ from the others (``withoutSourceConnectionSpecIds``: {flow spec id: [ids]}),
  so drift between sandboxes is visible.
- `specs/connection_specs.json`: ``{"items": [...]}``, the connection specs of every sandbox.
- `specs/flowspecs/*.json`: one flow spec per file, as a PUT body (no metadata).
- `specs/dataflows.json`: ``{"sandboxes": {name: {"sourceConnections": [...], "flows": [...]}}}``,
  each entry a create body plus its fixed `id` (and for a dataflow its `state` and
  `lastRunDetails`); loaded after the specs, through `dataflows_seed.dataflow_rows`.

Every active sandbox gets every connection spec and flow spec, stamped with its own metadata, and
its own dataflows and source connections. Timestamps are fixed, so the seeded documents (and their
content hashes) are the same on every run.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from flowadmin.emulator import services
from flowadmin.emulator.dataflows_seed import dataflow_rows
from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FaultRule,
    FlowDocument,
    FlowSpecDocument,
    IssuedToken,
    RemoteSandbox,
    RequestLogEntry,
    SourceConnectionDocument,
)

SPECS_DIR = Path(settings.BASE_DIR) / "specs"
FLOWSPECS_CREATED_AT_MS = 1_661_212_800_000  # 2022-08-23T00:00:00Z
CONNSPECS_CREATED_AT_MS = 1_640_995_200_000  # 2022-01-01T00:00:00Z
DATAFLOWS_CREATED_AT_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
DAY_MS = 86_400_000


@dataclass(frozen=True)
class SeedSummary:
    sandboxes: int
    flow_specs: int
    connection_specs: int
    source_connections: int = 0
    flows: int = 0


def _read(path: Path):
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def seed_files(specs_dir: Path | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """(sandboxes, connection specs, flow specs) as stored in `specs/`."""
    base = Path(specs_dir or SPECS_DIR)
    sandboxes = _read(base / "sandboxes.json")["sandboxes"]
    connection_specs = _read(base / "connection_specs.json")["items"]
    flow_specs = [_read(path) for path in sorted((base / "flowspecs").glob("*.json"))]
    return sandboxes, connection_specs, flow_specs


def dataflow_file(specs_dir: Path | None = None) -> dict[str, dict]:
    """{sandbox name: {"sourceConnections": [...], "flows": [...]}} from `specs/dataflows.json` ({} without it)."""
    path = Path(specs_dir or SPECS_DIR) / "dataflows.json"
    return _read(path)["sandboxes"] if path.exists() else {}


def _flowspec_for(sandbox: RemoteSandbox, spec: dict, index: int, drift: dict) -> FlowSpecDocument:
    body = copy.deepcopy(spec)
    removed = set(drift.get("withoutSourceConnectionSpecIds", {}).get(body["id"], []))
    if removed:
        body["sourceConnectionSpecIds"] = [i for i in body["sourceConnectionSpecIds"] if i not in removed]
    created = FLOWSPECS_CREATED_AT_MS + index * 7 * DAY_MS
    updated = created + (60 if removed else 90) * DAY_MS
    row = FlowSpecDocument(sandbox=sandbox, spec_id=body["id"].lower(), updated_at_ms=updated)
    row.document = services.document_with_metadata(
        body,
        spec_id=row.spec_id,
        metadata=services.seed_metadata(sandbox=sandbox, created_at=created, updated_at=updated),
    )
    return row


def _connection_spec_for(sandbox: RemoteSandbox, spec: dict, index: int) -> ConnectionSpecDocument:
    created = CONNSPECS_CREATED_AT_MS + index * DAY_MS
    row = ConnectionSpecDocument(sandbox=sandbox, spec_id=spec["id"].lower())
    row.document = services.document_with_metadata(
        spec,
        spec_id=row.spec_id,
        metadata=services.seed_metadata(sandbox=sandbox, created_at=created, updated_at=created),
    )
    return row


def seed_emulator(*, reset: bool = True, specs_dir: Path | None = None) -> SeedSummary:
    """Load `specs/` into the emulator.

    reset=True: replace everything (sandboxes, documents, fault rules, request log, issued tokens).
    reset=False: only add what is missing, keeping documents changed since (what `seed_demo` does
    on every start, so the demo's changes survive restarts).
    """
    sandbox_files, connection_specs, flow_specs = seed_files(specs_dir)
    with transaction.atomic():
        if reset:
            for model in (
                RequestLogEntry,
                FaultRule,
                IssuedToken,
                FlowDocument,
                SourceConnectionDocument,
                FlowSpecDocument,
                ConnectionSpecDocument,
                RemoteSandbox,
            ):
                model.objects.all().delete()
        existing = {sandbox.name: sandbox for sandbox in RemoteSandbox.objects.all()}
        new_sandboxes = [
            RemoteSandbox(
                sandbox_id=entry["id"],
                name=entry["name"].lower(),
                title=entry["title"],
                type=entry["type"],
                state=entry.get("state", RemoteSandbox.State.ACTIVE),
                region=entry.get("region", "VA7"),
                is_default=entry.get("isDefault", False),
                position=position,
            )
            for position, entry in enumerate(sandbox_files)
            if entry["name"].lower() not in existing
        ]
        RemoteSandbox.objects.bulk_create(new_sandboxes)
        sandboxes = {sandbox.name: sandbox for sandbox in RemoteSandbox.objects.all()}
        have_flow = set(FlowSpecDocument.objects.values_list("sandbox_id", "spec_id"))
        have_conn = set(ConnectionSpecDocument.objects.values_list("sandbox_id", "spec_id"))
        flow_rows, conn_rows = [], []
        for entry in sandbox_files:
            sandbox = sandboxes[entry["name"].lower()]
            if not sandbox.is_active:
                continue
            drift = entry.get("seed", {})
            for index, spec in enumerate(connection_specs):
                if (sandbox.pk, spec["id"].lower()) not in have_conn:
                    conn_rows.append(_connection_spec_for(sandbox, spec, index))
            for index, spec in enumerate(flow_specs):
                if (sandbox.pk, spec["id"].lower()) not in have_flow:
                    flow_rows.append(_flowspec_for(sandbox, spec, index, drift))
        ConnectionSpecDocument.objects.bulk_create(conn_rows)
        FlowSpecDocument.objects.bulk_create(flow_rows)
        source_count, flow_count = _seed_dataflows(sandboxes, dataflow_file(specs_dir))
    return SeedSummary(
        sandboxes=len(new_sandboxes),
        flow_specs=len(flow_rows),
        connection_specs=len(conn_rows),
        source_connections=source_count,
        flows=flow_count,
    )


def _seed_dataflows(sandboxes: dict[str, RemoteSandbox], entries: dict[str, dict]) -> tuple[int, int]:
    """Add the dataflows and source connections of `specs/dataflows.json` missing from active sandboxes."""
    have = set(SourceConnectionDocument.objects.values_list("resource_id", flat=True))
    have |= set(FlowDocument.objects.values_list("resource_id", flat=True))
    source_rows, flow_rows = [], []
    for name, entry in entries.items():
        sandbox = sandboxes.get(name.lower())
        if sandbox is None or not sandbox.is_active:
            continue
        sources, flows = dataflow_rows(
            sandbox=sandbox,
            source_connections=entry.get("sourceConnections", []),
            flows=entry.get("flows", []),
            created_at_ms=DATAFLOWS_CREATED_AT_MS,
            skip=frozenset(have),
        )
        source_rows += sources
        flow_rows += flows
    SourceConnectionDocument.objects.bulk_create(source_rows)
    FlowDocument.objects.bulk_create(flow_rows)
    return len(source_rows), len(flow_rows)
