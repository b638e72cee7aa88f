"""Creating connection specs over real HTTP (`POST /connectionSpecs`), as a partner adds a source."""

import pytest

from flowadmin.emulator.models import ConnectionSpecDocument
from tests.fixtures.emulator import BATCH_PROVIDER_ID, CONNECTION_SPECS, DATA_LAKE_ID

DYNAMICS_LIKE = {
    "name": "Acme Dynamics",
    "providerId": BATCH_PROVIDER_ID,
    "version": "1.0",
    "authSpec": [{"name": "Basic Authentication", "type": "BasicAuthentication", "spec": {"type": "object"}}],
    "sourceSpec": {"spec": {"type": "object", "properties": {"tableName": {"type": "string"}}}},
    "attributes": {"category": "CRM", "isSource": True, "frequency": "batch", "documentationLink": "https://x.test"},
    "permissionsInfo": {"view": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["read"]}]},
    "x-partnerNote": "fields nobody documented are kept",
}


def detail(response) -> str:
    return response.json()["report"]["detailed-message"]


def test_a_created_connection_spec_answers_201_with_its_new_id_location_and_metadata(emulator):
    response = emulator.post(CONNECTION_SPECS, json=DYNAMICS_LIKE)
    assert response.status_code == 201, response.text
    spec = response.json()
    assert response.headers["Location"] == f"/data/foundation/flowservice/connectionSpecs/{spec['id']}"
    assert spec["id"] not in {s["id"] for s in emulator.get(CONNECTION_SPECS, sandbox="prod").json()["items"]}
    assert {key: spec[key] for key in DYNAMICS_LIKE} == DYNAMICS_LIKE
    assert spec["sandboxName"] == "dev" and spec["imsOrgId"] == emulator.org_id
    assert spec["createdClient"] == spec["updatedClient"] == emulator.client_id
    assert spec["createdAt"] == spec["updatedAt"]


def test_the_new_spec_is_listed_and_read_in_its_sandbox_only(emulator):
    spec = emulator.create_connection_spec("dev", **DYNAMICS_LIKE)
    (read,) = emulator.get(f"{CONNECTION_SPECS}/{spec['id']}").json()["items"]
    assert read == spec
    found = emulator.get(CONNECTION_SPECS, params={"property": "name==Acme Dynamics"}).json()["items"]
    assert [item["id"] for item in found] == [spec["id"]]
    assert emulator.get(f"{CONNECTION_SPECS}/{spec['id']}", sandbox="prod").status_code == 404
    assert emulator.get(CONNECTION_SPECS, sandbox="prod", params={"property": "name==Acme Dynamics"}).json() == {
        "items": []
    }


def test_read_only_fields_in_the_body_are_ignored(emulator):
    spec = emulator.create_connection_spec(
        "dev", id="11111111-1111-4111-8111-111111111111", createdAt=1, sandboxName="prod", imsOrgId="other@AdobeOrg"
    )
    assert spec["id"] != "11111111-1111-4111-8111-111111111111"
    assert spec["createdAt"] > 1 and spec["sandboxName"] == "dev" and spec["imsOrgId"] == emulator.org_id


def test_only_name_and_provider_are_required(emulator):
    spec = emulator.created(emulator.post(CONNECTION_SPECS, json={"name": "Bare", "providerId": BATCH_PROVIDER_ID}))
    assert (spec["name"], spec["providerId"]) == ("Bare", BATCH_PROVIDER_ID)


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({}, ["Field 'name' is required.", "Field 'providerId' is required."]),
        ({"name": " ", "providerId": 7}, ["Field 'name' must be a non-empty string.", "Field 'providerId' must be a"]),
        ({**DYNAMICS_LIKE, "attributes": "CRM"}, ["Field 'attributes' must be an object, not a string."]),
        ({**DYNAMICS_LIKE, "authSpec": {}}, ["Field 'authSpec' must be an array, not an object."]),
        (
            {**DYNAMICS_LIKE, "attributes": {"isSource": "yes", "category": 1}},
            ["Field 'attributes.category' must be a string", "Field 'attributes.isSource' must be a boolean"],
        ),
        ([DYNAMICS_LIKE], ["The request body must be a JSON object, not an array."]),
    ],
)
def test_an_invalid_body_is_a_400_that_lists_every_problem_and_creates_nothing(emulator, body, messages):
    before = ConnectionSpecDocument.objects.count()
    response = emulator.post(CONNECTION_SPECS, json=body)
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")
    assert response.json()["report"]["request-id"] == response.headers["x-request-id"]
    for message in messages:
        assert message in detail(response)
    assert ConnectionSpecDocument.objects.count() == before


def test_nan_and_infinity_are_not_json(emulator):
    response = emulator.post(CONNECTION_SPECS, data=b'{"name": "x", "providerId": "y", "version": NaN}')
    assert response.status_code == 400
    assert "NaN is not a JSON number" in detail(response)


def test_an_empty_body_or_a_form_is_refused_as_adobe_does(emulator):
    empty = emulator.post(CONNECTION_SPECS, data=b"")
    assert (empty.status_code, empty.json()["type"][-13:]) == (400, "FLOW-1405-400")
    form = emulator.post(
        CONNECTION_SPECS, data=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status_code == 415


def test_an_unknown_connection_spec_is_a_404_in_adobes_shape(emulator):
    response = emulator.get(f"{CONNECTION_SPECS}/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-1101-404"
    assert (body["title"], body["status"]) == ("Resource not found", 404)
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert body["errorMessage"] == body["report"]["detailed-message"]


def test_attributes_tell_sources_from_destinations_and_streaming_from_batch(emulator):
    destinations = emulator.get(CONNECTION_SPECS, params={"property": "attributes.isDestination==true"}).json()
    assert DATA_LAKE_ID in {item["id"] for item in destinations["items"]}
    assert all(item["attributes"]["isSource"] is False for item in destinations["items"])
    streaming = emulator.get(
        CONNECTION_SPECS,
        params=[("property", "attributes.frequency==streaming"), ("property", "attributes.isSource==true")],
    ).json()["items"]
    assert {item["providerId"] for item in streaming} == {"521eee4d-8cbe-4906-bb48-fb6bd4450033"}
    database = emulator.get(CONNECTION_SPECS, params={"property": "attributes.category==Database"}).json()["items"]
    assert [item["name"] for item in database] == ["PostgreSQL"]
