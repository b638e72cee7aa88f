"""The emulator's answers against Adobe's own OpenAPI files, leniently.

Adobe's files are imprecise in places; where they contradict the documents Adobe itself returns
(and its own examples), the schema is relaxed here, each spot named and explained below.
Everything else is checked as written (unknown fields are allowed, as OpenAPI allows them).
"""

import functools
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.fixtures.emulator import (
    CONNECTION_SPECS,
    FLOW_SPECS,
    FLOWS,
    GENERIC_STREAMING_ID,
    NEW_STREAMING_SOURCE_ID,
    SANDBOXES,
    SOURCE_CONNECTIONS,
)

REFERENCE = Path("/work/shared/reference/adobe-openapi")
FLOW_SERVICE_YAML = REFERENCE / "flow-service.yaml"
SANDBOX_YAML = REFERENCE / "sandbox.yaml"

pytestmark = pytest.mark.skipif(not FLOW_SERVICE_YAML.exists(), reason="Adobe's OpenAPI files are not on this machine")


def _relax(components: dict, path: str, replacement: dict) -> None:
    *parents, last = path.split("/")
    node = components["schemas"]
    for part in parents:
        node = node[part]
    assert last in node, f"the spot to relax is gone from Adobe's file: {path}"
    node[last] = replacement


@functools.cache
def flow_service_components() -> dict:
    components = yaml.safe_load(FLOW_SERVICE_YAML.read_text())["components"]
    # Typed as one object, but real flow specs carry an array of {name, spec} (Adobe's own examples too).
    _relax(components, "FlowSpecItemDTO/properties/transformationSpecs", {"type": "array", "items": {"type": "object"}})
    # "Every attribute is an object", says the request schema; the documents' attributes are booleans and strings
    # (isSourceFlow, frequency, ...), as FlowSpecItemDTO itself types them.
    _relax(components, "UpdateFlowSpecRequest/properties/attributes", {"type": "object"})
    # The same mistake in the connection spec create request: its own example answer (and ConnectionSpecItemDTO)
    # carry attributes such as category "CRM" and isSource true.
    _relax(components, "CreateConnectionSpecRequest/properties/attributes", {"type": "object"})
    # Typed as strings, but Adobe's connection spec examples give {"key": ...} objects for these.
    ui = "SourceSpecDTO/properties/attributes/properties/uiAttributes/properties"
    for field in ("category", "icon", "description", "label"):
        _relax(components, f"{ui}/{field}", {"type": ["string", "object"]})
    # `default` of the `recursive` source parameter is a JSON Schema default: a boolean, not the string the file says.
    _relax(components, "SourceSpecDTO/properties/spec/properties/recursive", {"type": "object"})
    return components


@functools.cache
def sandbox_components() -> dict:
    return yaml.safe_load(SANDBOX_YAML.read_text())["components"]


def assert_matches(instance, components: dict, schema_name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    errors = sorted(Draft7Validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_the_flow_spec_list_matches_flow_spec_response(emulator):
    assert_matches(emulator.get(FLOW_SPECS).json(), flow_service_components(), "FlowSpecResponse")


def test_one_flow_spec_matches_flow_spec_response(emulator):
    body = emulator.get(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}").json()
    assert_matches(body, flow_service_components(), "FlowSpecResponse")


def test_the_put_answer_matches_flow_spec_item(emulator):
    document = emulator.document("dev", GENERIC_STREAMING_ID)
    assert_matches(
        emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=document).json(),
        flow_service_components(),
        "FlowSpecItemDTO",
    )


def test_the_seed_documents_are_acceptable_update_requests():
    from flowadmin.emulator.seed import seed_files

    for document in seed_files()[2]:
        assert_matches(document, flow_service_components(), "UpdateFlowSpecRequest")


def test_connection_specs_match_connection_spec_response(emulator):
    assert_matches(emulator.get(CONNECTION_SPECS).json(), flow_service_components(), "ConnectionSpecResponse")
    one = emulator.get(f"{CONNECTION_SPECS}/{NEW_STREAMING_SOURCE_ID}").json()
    assert_matches(one, flow_service_components(), "ConnectionSpecResponse")


PARTNER_SPEC = {
    "name": "Acme Dynamics",
    "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
    "version": "1.0",
    "attributes": {"category": "CRM", "isSource": True, "frequency": "batch"},
    "authSpec": [{"name": "Basic Authentication", "type": "BasicAuthentication", "spec": {"type": "object"}}],
    "permissionsInfo": {"view": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["read"]}]},
}
BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"


def test_a_connection_spec_create_request_and_answer_match_adobes_schemas(emulator):
    assert_matches(PARTNER_SPEC, flow_service_components(), "CreateConnectionSpecRequest")
    response = emulator.post(CONNECTION_SPECS, json=PARTNER_SPEC)
    assert response.status_code == 201
    assert_matches(response.json(), flow_service_components(), "ConnectionSpecItemDTO")


def test_the_seeded_connection_specs_are_acceptable_create_requests():
    from flowadmin.emulator.seed import seed_files

    for spec in seed_files()[1]:
        assert_matches(
            {k: v for k, v in spec.items() if k != "id"}, flow_service_components(), "CreateConnectionSpecRequest"
        )


def test_dataflow_lists_pages_and_counts_match_flow_list_response(emulator):
    components = flow_service_components()
    assert_matches(emulator.get(FLOWS, sandbox="prod").json(), components, "FlowListResponse")
    paged = emulator.get(FLOWS, sandbox="prod", params={"limit": 2}).json()
    assert "_links" in paged
    assert_matches(paged, components, "FlowListResponse")
    assert_matches(emulator.get(FLOWS, params={"count": "true"}).json(), components, "FlowListResponse")
    one = emulator.get(f"{FLOWS}/{paged['items'][0]['id']}", sandbox="prod").json()
    assert_matches(one, components, "FlowListResponse")


def test_dataflow_and_source_connection_creates_match_their_schemas(emulator):
    components = flow_service_components()
    source_body = {"name": "Braze", "connectionSpec": {"id": BRAZE, "version": "1.0"}, "data": {"format": "json"}}
    assert_matches(source_body, components, "CreateSourceConnectionRequest")
    source = emulator.post(SOURCE_CONNECTIONS, json=source_body)
    assert_matches(source.json(), components, "CreateSourceConnectionResponse")
    flow_body = {
        "name": "Braze to AEP",
        "flowSpec": {"id": GENERIC_STREAMING_ID, "version": "1.0"},
        "sourceConnectionIds": [source.json()["id"]],
        "targetConnectionIds": ["2f1ba5c4-6a3e-4d0f-9c0b-7e0a1b2c3d4e"],
        "transformations": [{"name": "Mapping", "params": {"mappingId": "f6447514ef95", "mappingVersion": "0"}}],
    }
    assert_matches(flow_body, components, "CreateFlowRequest")
    flow = emulator.post(FLOWS, json=flow_body)
    assert_matches(flow.json(), components, "CreateFlowResponse")
    disabled = emulator.post(f"{FLOWS}/{flow.json()['id']}/action", params={"op": "disable"})
    assert_matches(disabled.json(), components, "CreateFlowResponse")
    assert_matches(emulator.get(f"{FLOWS}/{flow.json()['id']}").json(), components, "FlowListResponse")


def test_source_connection_lists_match_source_connections_list_response(emulator):
    components = flow_service_components()
    paged = emulator.get(SOURCE_CONNECTIONS, sandbox="prod", params={"limit": 4}).json()
    assert "_links" in paged
    assert_matches(paged, components, "SourceConnectionsListResponse")
    one = emulator.get(f"{SOURCE_CONNECTIONS}/{paged['items'][0]['id']}", sandbox="prod").json()
    assert_matches(one, components, "SourceConnectionsListResponse")


def test_the_seeded_dataflows_are_acceptable_create_requests():
    from flowadmin.emulator.dataflow_bodies import FLOW_READ_ONLY, SOURCE_CONNECTION_READ_ONLY
    from flowadmin.emulator.seed import dataflow_file

    for entry in dataflow_file().values():
        for source in entry["sourceConnections"]:
            body = {k: v for k, v in source.items() if k not in SOURCE_CONNECTION_READ_ONLY}
            assert_matches(body, flow_service_components(), "CreateSourceConnectionRequest")
        for flow in entry["flows"]:
            body = {k: v for k, v in flow.items() if k not in FLOW_READ_ONLY}
            assert_matches(body, flow_service_components(), "CreateFlowRequest")


def test_the_sandbox_list_matches_list_sandboxes(emulator):
    assert_matches(emulator.get(SANDBOXES, sandbox=None).json(), sandbox_components(), "ListSandboxes")


def test_available_sandboxes_match_list_available_sandboxes(emulator):
    body = emulator.get("/data/foundation/sandbox-management/", sandbox=None).json()
    assert_matches(body, sandbox_components(), "ListAvailableSandboxes")


def test_a_wrong_shape_would_be_caught():
    with pytest.raises(AssertionError):
        assert_matches(
            {"items": [{"sourceConnectionSpecIds": "not-an-array"}]}, flow_service_components(), "FlowSpecResponse"
        )
