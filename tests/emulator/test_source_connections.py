"""Source connections over real HTTP: list with filters and paging, get, create (connection spec checked)."""

import pytest

from flowadmin.emulator.models import SourceConnectionDocument
from tests.fixtures.emulator import BATCH_PROVIDER_ID, SOURCE_CONNECTIONS

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
STREAMING_PROVIDER = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
DEV_ZENDESK_DRAFT = "2e36524c-1e35-4908-a814-5b428a6c0022"
PROD_BRAZE_WEB_SOURCE = "3157570c-a9f0-49e5-b20f-4c20b5fc2682"
BASE_CONNECTION = "69f188b6-af07-4587-8061-e94d34637b41"


def detail(response) -> str:
    return response.json()["report"]["detailed-message"]


def test_the_list_holds_the_sandboxs_source_connections(emulator):
    body = emulator.get(SOURCE_CONNECTIONS).json()
    assert set(body) == {"items"}
    assert len(body["items"]) == 6
    assert {item["sandboxName"] for item in body["items"]} == {"dev"}
    assert all({"id", "name", "connectionSpec", "state", "etag"} <= set(item) for item in body["items"])


def test_a_connection_spec_filter_finds_its_source_connections(emulator):
    response = emulator.get(SOURCE_CONNECTIONS, sandbox="prod", params={"property": f"connectionSpec.id=={BRAZE}"})
    assert sorted(item["name"] for item in response.json()["items"]) == [
        "Braze Currents email events",
        "Braze Currents mobile events",
        "Braze Currents web events",
    ]
    counted = emulator.get(
        SOURCE_CONNECTIONS, sandbox="prod", params={"property": f"providerRefId=={STREAMING_PROVIDER}", "count": "true"}
    )
    assert counted.json() == {"count": 6}


def test_one_source_connection_is_wrapped_in_items(emulator):
    (item,) = emulator.get(f"{SOURCE_CONNECTIONS}/{PROD_BRAZE_WEB_SOURCE}", sandbox="prod").json()["items"]
    assert item["connectionSpec"] == {"id": BRAZE, "version": "1.0"}
    assert item["providerRefId"] == STREAMING_PROVIDER
    assert item["inheritedAttributes"]["baseConnection"]["id"] == item["baseConnectionId"]
    assert emulator.get(f"{SOURCE_CONNECTIONS}/{PROD_BRAZE_WEB_SOURCE}", sandbox="dev").status_code == 404
    assert emulator.get(f"{SOURCE_CONNECTIONS}/braze").json()["type"].endswith("FLOW-1413-400")


def test_pages_give_every_source_connection_exactly_once(emulator):
    emulator.seed_dataflows("dev", 95)
    paged = emulator.list_all(SOURCE_CONNECTIONS, params={"limit": 25, "orderby": "name"})
    ids = [item["id"] for item in paged]
    assert len(ids) == len(set(ids)) == 101
    assert [item["name"] for item in paged] == sorted(item["name"] for item in paged)


def test_a_created_source_connection_answers_its_id_and_etag(emulator):
    body = {
        "name": "Braze Currents (new)",
        "description": "made by a test",
        "baseConnectionId": BASE_CONNECTION,
        "connectionSpec": {"id": BRAZE, "version": "1.0"},
        "data": {"format": "json"},
        "params": {"path": "events"},
    }
    response = emulator.post(SOURCE_CONNECTIONS, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"id", "etag"}
    assert response.headers["Location"] == f"/data/foundation/flowservice/sourceConnections/{answer['id']}"
    (item,) = emulator.get(f"{SOURCE_CONNECTIONS}/{answer['id']}").json()["items"]
    assert {key: item[key] for key in body} == body
    assert (item["state"], item["etag"], item["providerRefId"]) == ("enabled", answer["etag"], STREAMING_PROVIDER)
    assert item["createdClient"] == emulator.client_id


def test_a_source_connection_of_a_connection_spec_created_over_http(emulator):
    spec = emulator.create_connection_spec("stage", name="Acme ERP", providerId=BATCH_PROVIDER_ID)
    created = emulator.create_source_connection("stage", spec["id"])
    listed = emulator.get(SOURCE_CONNECTIONS, sandbox="stage", params={"property": f"connectionSpec.id=={spec['id']}"})
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    elsewhere = emulator.post(
        SOURCE_CONNECTIONS, json={"name": "x", "connectionSpec": {"id": spec["id"], "version": "1.0"}, "data": {}}
    )
    assert elsewhere.status_code == 400
    assert f"Connection spec {spec['id']} does not exist in sandbox 'dev'." in detail(elsewhere)


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        (
            {},
            ["Field 'name' is required.", "Field 'data' is required.", "Field 'connectionSpec' is required."],
        ),
        (
            {"name": "x", "data": "json", "connectionSpec": {"id": "braze"}, "baseConnectionId": "b"},
            [
                "Field 'data' must be an object, not a string.",
                "Field 'connectionSpec.id' must be a connection spec id (a UUID), not 'braze'.",
                "Field 'connectionSpec.version' is required.",
                "Field 'baseConnectionId' must be a base connection id (a UUID), not 'b'.",
            ],
        ),
        (
            {"name": "x", "data": {}, "connectionSpec": {"id": BRAZE, "version": "2.0"}},
            ["Connection spec 5decd67e-e6e1-475b-87bf-293fc3d28e1c has version 1.0, not 2.0."],
        ),
        (
            {"name": "x", "data": {}, "connectionSpec": {"id": "00000000-0000-4000-8000-000000000000", "version": "1"}},
            ["Connection spec 00000000-0000-4000-8000-000000000000 does not exist in sandbox 'dev'."],
        ),
    ],
)
def test_an_invalid_body_is_a_400_and_creates_nothing(emulator, body, messages):
    before = SourceConnectionDocument.objects.count()
    response = emulator.post(SOURCE_CONNECTIONS, json=body)
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")
    for message in messages:
        assert message in detail(response)
    assert SourceConnectionDocument.objects.count() == before


def test_source_connections_cannot_be_replaced(emulator):
    before = emulator.get(f"{SOURCE_CONNECTIONS}/{DEV_ZENDESK_DRAFT}").json()
    response = emulator.put(f"{SOURCE_CONNECTIONS}/{DEV_ZENDESK_DRAFT}", json={"name": "x"})
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")
    assert emulator.get(f"{SOURCE_CONNECTIONS}/{DEV_ZENDESK_DRAFT}").json() == before
