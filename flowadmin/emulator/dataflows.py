"""Writes of dataflows and source connections, and the documents the service makes of them.

A source connection names its connection spec (`connectionSpec.id`/`.version`); a dataflow names its
flow spec (`flowSpec`), its source connections (`sourceConnectionIds`) and target connections. On
create the service checks what a body cannot show: the connection spec, the flow spec and the
source connections exist in the sandbox, and the flow spec lists the connection spec of each source
connection in its `sourceConnectionSpecIds`. The documents carry what Adobe's answers carry: the
metadata, `state`, `etag` (also as `version`), `inheritedAttributes`, `runs`, `lastOperation` and,
once a dataflow has run, `lastRunDetails`.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from django.db import transaction

from flowadmin.emulator import selectors
from flowadmin.emulator.dataflow_bodies import FLOW_READ_ONLY, SOURCE_CONNECTION_READ_ONLY
from flowadmin.emulator.models import FlowDocument, RemoteSandbox, SourceConnectionDocument
from flowadmin.emulator.services import DocumentNotFound, creation_metadata, epoch_ms
from flowadmin.emulator.tokens import technical_account_id

CONNECTION_SPEC_UNKNOWN = "Connection spec {id} does not exist in sandbox '{sandbox}'."
SPEC_VERSION = "{what} {id} has version {have}, not {given}."
FLOW_SPEC_UNKNOWN = "Flow spec {id} does not exist in sandbox '{sandbox}'."
SOURCE_CONNECTIONS_UNKNOWN = "Source connection(s) {ids} do not exist in sandbox '{sandbox}'."
SOURCE_NOT_LISTED = (
    "Source connection {id} uses connection spec {spec_id}, which flow spec {flow_spec_id} ({name}) does not "
    "list in its sourceConnectionSpecIds."
)
UNKNOWN_OPERATION = "Unknown op '{op}': use enable or disable."
OPERATIONS = {"enable": "enabled", "disable": "disabled"}
DEFAULT_VERSION = "1.0"
ETAG_NAMESPACE = uuid.UUID("5f4c3a1e-2b7d-4e0a-9c61-8d2f0b3e7a54")


class DataflowRefused(ValueError):
    """The body is well formed but names something the sandbox does not have; the message says what."""


class VersionMismatch(ValueError):
    """`If-Match` does not name the resource's current etag."""


def etag_for(*, at_ms: int, key: str | None = None) -> str:
    """An etag shaped like Adobe's (``"<8 hex>-0000-0200-0000-<seconds, hex>0000"``, quotes included).

    ``key`` makes it reproducible (the seed); otherwise it is new each time.
    """
    head = uuid.uuid5(ETAG_NAMESPACE, key).hex[:8] if key else uuid.uuid4().hex[:8]
    return f'"{head}-0000-0200-0000-{at_ms // 1000:08x}0000"'


def _spec_reference(reference: dict, version: str) -> dict:
    return {"id": str(reference["id"]).lower(), "version": version}


# --- documents -------------------------------------------------------------------------------
def source_connection_document(
    *, resource_id: str, body: dict, connection_spec: dict, metadata: dict, etag: str, state: str = "enabled"
) -> dict:
    """The stored source connection: id, metadata, the body's fields, then what the service adds."""
    fields = {key: copy.deepcopy(value) for key, value in body.items() if key not in SOURCE_CONNECTION_READ_ONLY}
    version = str(fields["connectionSpec"].get("version") or connection_spec.get("version") or DEFAULT_VERSION)
    fields["connectionSpec"] = _spec_reference(fields["connectionSpec"], version)
    if "baseConnectionId" in fields:
        fields["baseConnectionId"] = fields["baseConnectionId"].lower()
    document = {"id": resource_id, **metadata, **fields, "state": state, "version": etag, "etag": etag}
    document["providerRefId"] = connection_spec.get("providerId", "")
    if "baseConnectionId" in fields:
        document["inheritedAttributes"] = {
            "baseConnection": {"id": fields["baseConnectionId"], "connectionSpec": fields["connectionSpec"]}
        }
    document["lastOperation"] = {"started": metadata["createdAt"], "updated": 0, "operation": "create"}
    return document


def flow_document(
    *,
    resource_id: str,
    body: dict,
    flow_spec: dict,
    source_connections: list[dict],
    target_spec_version: str,
    metadata: dict,
    etag: str,
    state: str = "enabled",
    last_run: dict | None = None,
) -> dict:
    """The stored dataflow: id, metadata, the body's fields, then what the service adds."""
    fields = {key: copy.deepcopy(value) for key, value in body.items() if key not in FLOW_READ_ONLY}
    version = str(fields["flowSpec"].get("version") or flow_spec.get("version") or DEFAULT_VERSION)
    fields["flowSpec"] = _spec_reference(fields["flowSpec"], version)
    for key in ("sourceConnectionIds", "targetConnectionIds"):
        fields[key] = [item.lower() for item in fields[key]]
    sources = {connection["id"]: connection for connection in source_connections}
    target_spec_ids = flow_spec.get("targetConnectionSpecIds") or []
    inherited = {
        "properties": {"isSourceFlow": bool((flow_spec.get("attributes") or {}).get("isSourceFlow", True))},
        "sourceConnections": [_inherited_source(sources[item]) for item in fields["sourceConnectionIds"]],
        "targetConnections": [
            {"id": item, "connectionSpec": {"id": target_spec_ids[0], "version": target_spec_version}}
            for item in fields["targetConnectionIds"]
            if target_spec_ids
        ],
    }
    document = {"id": resource_id, **metadata}
    for key in ("name", "description", "flowSpec"):
        if key in fields:
            document[key] = fields.pop(key)
    document.update(state=state, version=etag, etag=etag)
    for key in ("sourceConnectionIds", "targetConnectionIds"):
        document[key] = fields.pop(key)
    document["inheritedAttributes"] = inherited
    document.update(fields)
    document["runs"] = f"/runs?property=flowId=={resource_id}"
    document["lastOperation"] = {"started": metadata["createdAt"], "updated": 0, "operation": "create"}
    if last_run:
        document["lastRunDetails"] = dict(last_run)
    return document


def _inherited_source(connection: dict) -> dict:
    entry = {"id": connection["id"], "connectionSpec": connection["connectionSpec"]}
    if connection.get("baseConnectionId"):
        entry["baseConnection"] = {"id": connection["baseConnectionId"], "connectionSpec": connection["connectionSpec"]}
    return entry


# --- the checks of a create ------------------------------------------------------------------
def _checked_version(*, what: str, reference: dict, document: dict) -> None:
    given, have = reference.get("version"), document.get("version")
    if given is not None and have is not None and str(given) != str(have):
        raise DataflowRefused(SPEC_VERSION.format(what=what, id=document["id"], have=have, given=given))


def source_connection_spec(*, sandbox: RemoteSandbox, body: dict) -> dict:
    """The connection spec a source connection body names, checked."""
    spec_id = body["connectionSpec"]["id"]
    spec = selectors.connection_spec_document(sandbox=sandbox, spec_id=spec_id)
    if spec is None:
        raise DataflowRefused(CONNECTION_SPEC_UNKNOWN.format(id=spec_id, sandbox=sandbox.name))
    _checked_version(what="Connection spec", reference=body["connectionSpec"], document=spec)
    return spec


@dataclass(frozen=True)
class FlowReferences:
    flow_spec: dict
    source_connections: list[dict]
    target_spec_version: str


def flow_references(*, sandbox: RemoteSandbox, body: dict) -> FlowReferences:
    """The flow spec and source connections a dataflow body names, checked against each other."""
    flow_spec_id = body["flowSpec"]["id"]
    flow_spec = selectors.flowspec_document(sandbox=sandbox, spec_id=flow_spec_id)
    if flow_spec is None:
        raise DataflowRefused(FLOW_SPEC_UNKNOWN.format(id=flow_spec_id, sandbox=sandbox.name))
    _checked_version(what="Flow spec", reference=body["flowSpec"], document=flow_spec)
    wanted = [item.lower() for item in body["sourceConnectionIds"]]
    found = selectors.source_connection_documents(sandbox=sandbox, ids=wanted)
    missing = [item for item in wanted if item not in found]
    if missing:
        raise DataflowRefused(SOURCE_CONNECTIONS_UNKNOWN.format(ids=", ".join(missing), sandbox=sandbox.name))
    listed = {item.lower() for item in flow_spec.get("sourceConnectionSpecIds") or []}
    for item in wanted:
        spec_id = found[item]["connectionSpec"]["id"]
        if spec_id not in listed:
            raise DataflowRefused(
                SOURCE_NOT_LISTED.format(id=item, spec_id=spec_id, flow_spec_id=flow_spec["id"], name=flow_spec["name"])
            )
    target_ids = flow_spec.get("targetConnectionSpecIds") or []
    target = selectors.connection_spec_document(sandbox=sandbox, spec_id=target_ids[0]) if target_ids else None
    return FlowReferences(
        flow_spec=flow_spec,
        source_connections=[found[item] for item in wanted],
        target_spec_version=str((target or {}).get("version") or DEFAULT_VERSION),
    )


# --- writes ----------------------------------------------------------------------------------
def source_connection_create(*, sandbox: RemoteSandbox, body: dict, client_id: str) -> dict:
    """Create a source connection (the body must already be valid); raises DataflowRefused."""
    spec = source_connection_spec(sandbox=sandbox, body=body)
    now, resource_id = epoch_ms(), str(uuid.uuid4())
    row = SourceConnectionDocument(sandbox=sandbox, resource_id=resource_id)
    row.document = source_connection_document(
        resource_id=resource_id,
        body=body,
        connection_spec=spec,
        metadata=creation_metadata(sandbox=sandbox, client_id=client_id, now=now),
        etag=etag_for(at_ms=now),
    )
    row.save()
    return row.document


def flow_create(*, sandbox: RemoteSandbox, body: dict, client_id: str) -> dict:
    """Create an enabled dataflow (the body must already be valid); raises DataflowRefused."""
    references = flow_references(sandbox=sandbox, body=body)
    now, resource_id = epoch_ms(), str(uuid.uuid4())
    row = FlowDocument(sandbox=sandbox, resource_id=resource_id)
    row.document = flow_document(
        resource_id=resource_id,
        body=body,
        flow_spec=references.flow_spec,
        source_connections=references.source_connections,
        target_spec_version=references.target_spec_version,
        metadata=creation_metadata(sandbox=sandbox, client_id=client_id, now=now),
        etag=etag_for(at_ms=now),
    )
    row.save()
    return row.document


def flow_state_change(*, sandbox: RemoteSandbox, flow_id: str, op: str, if_match: str, client_id: str) -> dict:
    """Enable or disable a dataflow (`POST /flows/{id}/action?op=`); `if_match` must be its etag, "*" or ""."""
    state = OPERATIONS.get(op.strip().lower())
    if state is None:
        raise DataflowRefused(UNKNOWN_OPERATION.format(op=op))
    with transaction.atomic():
        row = FlowDocument.objects.select_for_update().filter(sandbox=sandbox, resource_id=flow_id.lower()).first()
        if row is None:
            raise DocumentNotFound(flow_id)
        document = row.document
        if if_match.strip() not in ("", "*", document["etag"]):
            raise VersionMismatch(flow_id)
        now = max(epoch_ms(), int(document.get("updatedAt") or 0) + 1)
        etag = etag_for(at_ms=now)
        document.update(
            state=state,
            version=etag,
            etag=etag,
            updatedAt=now,
            updatedBy=technical_account_id(client_id),
            updatedClient=client_id,
            lastOperation={"started": now, "updated": 0, "operation": op.strip().lower()},
        )
        row.document = document
        row.save(update_fields=["document_json", "name"])
    return document
