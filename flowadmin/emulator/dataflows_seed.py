"""Dataflows and source connections written in bulk: `specs/dataflows.json`, and made-up sets of any size.

Both go through `dataflow_rows`, which builds each document with the builders the API uses
(`flowadmin.emulator.dataflows`), stamped as the seed's, and checks what the API checks: each
source connection's connection spec and each dataflow's flow spec exist in the sandbox, each
dataflow's source connections exist (in the set or already stored) and its flow spec lists their
connection specs. A set that breaks a rule raises `SeedError` naming the entry; nothing is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from flowadmin.emulator import dataflows
from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FlowDocument,
    FlowSpecDocument,
    RemoteSandbox,
    SourceConnectionDocument,
)
from flowadmin.emulator.services import epoch_ms, seed_metadata

DAY_MS = 86_400_000
MINUTE_MS = 60_000
BATCH_SIZE = 500

UNKNOWN_CONNECTION_SPEC = (
    "source connection {id} ({name}) names connection spec {spec_id}, unknown in sandbox '{sandbox}'"
)
UNKNOWN_FLOW_SPEC = "dataflow {id} ({name}) names flow spec {spec_id}, unknown in sandbox '{sandbox}'"
UNKNOWN_SOURCE = "dataflow {id} ({name}) names source connection {source_id}, unknown in sandbox '{sandbox}'"
NOT_LISTED = "dataflow {id} ({name}): flow spec {spec_id} does not list connection spec {connection_spec_id}"
NO_FLOW_SPEC = "sandbox '{sandbox}' has no flow spec with a source connection spec to make dataflows of"


class SeedError(ValueError):
    """A seed entry names something its sandbox does not have."""


@dataclass(frozen=True)
class Specs:
    """A sandbox's connection and flow spec documents, by id."""

    connection_specs: dict[str, dict]
    flow_specs: dict[str, dict]

    @classmethod
    def of(cls, sandbox: RemoteSandbox) -> Specs:
        return cls(
            connection_specs={
                row.spec_id: row.document for row in ConnectionSpecDocument.objects.filter(sandbox=sandbox)
            },
            flow_specs={row.spec_id: row.document for row in FlowSpecDocument.objects.filter(sandbox=sandbox)},
        )


def _source_row(sandbox: RemoteSandbox, specs: Specs, entry: dict, created: int) -> SourceConnectionDocument:
    spec_id = entry["connectionSpec"]["id"].lower()
    if spec_id not in specs.connection_specs:
        raise SeedError(
            UNKNOWN_CONNECTION_SPEC.format(id=entry["id"], name=entry["name"], spec_id=spec_id, sandbox=sandbox.name)
        )
    row = SourceConnectionDocument(sandbox=sandbox, resource_id=entry["id"].lower())
    row.document = dataflows.source_connection_document(
        resource_id=row.resource_id,
        body=entry,
        connection_spec=specs.connection_specs[spec_id],
        metadata=seed_metadata(sandbox=sandbox, created_at=created, updated_at=created),
        etag=dataflows.etag_for(at_ms=created, key=row.resource_id),
        state=entry.get("state", "enabled"),
    )
    return row


def _flow_row(
    sandbox: RemoteSandbox, specs: Specs, entry: dict, sources: dict[str, dict], created: int
) -> FlowDocument:
    flow_id, name = entry["id"].lower(), entry["name"]
    spec_id = entry["flowSpec"]["id"].lower()
    flow_spec = specs.flow_specs.get(spec_id)
    if flow_spec is None:
        raise SeedError(UNKNOWN_FLOW_SPEC.format(id=flow_id, name=name, spec_id=spec_id, sandbox=sandbox.name))
    listed = {item.lower() for item in flow_spec.get("sourceConnectionSpecIds") or []}
    connections = []
    for source_id in (item.lower() for item in entry["sourceConnectionIds"]):
        if source_id not in sources:
            raise SeedError(UNKNOWN_SOURCE.format(id=flow_id, name=name, source_id=source_id, sandbox=sandbox.name))
        connection_spec_id = sources[source_id]["connectionSpec"]["id"]
        if connection_spec_id not in listed:
            raise SeedError(
                NOT_LISTED.format(id=flow_id, name=name, spec_id=spec_id, connection_spec_id=connection_spec_id)
            )
        connections.append(sources[source_id])
    target_ids = flow_spec.get("targetConnectionSpecIds") or []
    target = specs.connection_specs.get(target_ids[0].lower(), {}) if target_ids else {}
    row = FlowDocument(sandbox=sandbox, resource_id=flow_id)
    row.document = dataflows.flow_document(
        resource_id=flow_id,
        body=entry,
        flow_spec=flow_spec,
        source_connections=connections,
        target_spec_version=str(target.get("version") or dataflows.DEFAULT_VERSION),
        metadata=seed_metadata(sandbox=sandbox, created_at=created, updated_at=created),
        etag=dataflows.etag_for(at_ms=created, key=flow_id),
        state=entry.get("state", "enabled"),
        last_run=entry.get("lastRunDetails"),
    )
    return row


def dataflow_rows(
    *,
    sandbox: RemoteSandbox,
    source_connections: list[dict],
    flows: list[dict],
    created_at_ms: int,
    step_ms: int = DAY_MS,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[SourceConnectionDocument], list[FlowDocument]]:
    """Unsaved rows for the entries (file form: a create body plus `id`, `state`, `lastRunDetails`).

    The n-th source connection and the n-th dataflow are created `created_at_ms` + n x `step_ms`.
    Entries whose id is in `skip` (already stored) are left out; stored source connections count
    as existing.
    """
    specs = Specs.of(sandbox)
    source_rows = [
        _source_row(sandbox, specs, entry, created_at_ms + index * step_ms)
        for index, entry in enumerate(source_connections)
        if entry["id"].lower() not in skip
    ]
    sources = {
        row.resource_id: row.document
        for row in SourceConnectionDocument.objects.filter(sandbox=sandbox).only("resource_id", "document_json")
    }
    sources.update({row.resource_id: row.document for row in source_rows})
    flow_rows = [
        _flow_row(sandbox, specs, entry, sources, created_at_ms + index * step_ms)
        for index, entry in enumerate(flows)
        if entry["id"].lower() not in skip
    ]
    return source_rows, flow_rows


# --- made-up sets ----------------------------------------------------------------------------
def _made_up(index: int, flow_spec: dict, connection_spec_id: str) -> tuple[dict, dict]:
    """Entry `index` of a generated set: a source connection and its dataflow."""
    source = {
        "id": str(uuid.uuid4()),
        "name": f"Generated source connection {index + 1}",
        "baseConnectionId": str(uuid.uuid4()),
        "connectionSpec": {"id": connection_spec_id, "version": "1.0"},
        "data": {"format": "json"},
    }
    flow = {
        "id": str(uuid.uuid4()),
        "name": f"Generated dataflow {index + 1}",
        "flowSpec": {"id": flow_spec["id"], "version": flow_spec.get("version") or dataflows.DEFAULT_VERSION},
        "sourceConnectionIds": [source["id"]],
        "targetConnectionIds": [str(uuid.uuid4())],
        "state": "disabled" if index % 5 == 4 else "enabled",
    }
    if flow_spec.get("transformationSpecs"):
        flow["transformations"] = [
            {"name": "Mapping", "params": {"mappingId": uuid.uuid4().hex, "mappingVersion": "0"}}
        ]
    if (flow_spec.get("attributes") or {}).get("frequency") == "batch":
        flow["scheduleParams"] = {"startTime": 1735689600, "frequency": "hour", "interval": "1", "backfill": True}
    if index % 7:
        started = epoch_ms() - (index % 48) * 3_600_000
        flow["lastRunDetails"] = {
            "id": str(uuid.uuid4()),
            "state": "failed" if index % 3 == 1 else "success",
            "startedAtUTC": started,
            "completedAtUTC": started + 600_000,
        }
    return source, flow


def flows_generate(*, sandbox: RemoteSandbox, count: int, flow_spec_ids: list[str] | None = None) -> list[str]:
    """Add `count` dataflows to a sandbox, each with its own source connection; returns their ids.

    Dataflows go round the sandbox's flow specs (or `flow_spec_ids`) and each one's source
    connection specs; one in five is disabled; most have a last run, one in three of those failed.
    """
    specs = Specs.of(sandbox)
    wanted = [item.lower() for item in flow_spec_ids] if flow_spec_ids else sorted(specs.flow_specs)
    usable = [
        (specs.flow_specs[spec_id], [i.lower() for i in specs.flow_specs[spec_id].get("sourceConnectionSpecIds") or []])
        for spec_id in wanted
        if spec_id in specs.flow_specs
    ]
    usable = [(flow_spec, [i for i in ids if i in specs.connection_specs]) for flow_spec, ids in usable]
    usable = [(flow_spec, ids) for flow_spec, ids in usable if ids]
    if not usable:
        raise SeedError(NO_FLOW_SPEC.format(sandbox=sandbox.name))
    sources, flows = [], []
    for index in range(count):
        flow_spec, connection_spec_ids = usable[index % len(usable)]
        chosen = connection_spec_ids[(index // len(usable)) % len(connection_spec_ids)]
        source, flow = _made_up(index, flow_spec, chosen)
        sources.append(source)
        flows.append(flow)
    start = epoch_ms() - count * MINUTE_MS
    source_rows, flow_rows = dataflow_rows(
        sandbox=sandbox, source_connections=sources, flows=flows, created_at_ms=start, step_ms=MINUTE_MS
    )
    with transaction.atomic():
        SourceConnectionDocument.objects.bulk_create(source_rows, batch_size=BATCH_SIZE)
        FlowDocument.objects.bulk_create(flow_rows, batch_size=BATCH_SIZE)
    return [row.resource_id for row in flow_rows]
