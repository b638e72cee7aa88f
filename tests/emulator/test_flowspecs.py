"""Flow specs over real HTTP: list with property filters and paging, get, PUT (full replacement), POST."""

import copy

import pytest
import requests

from flowadmin.emulator.models import FlowSpecDocument
from flowadmin.emulator.validation import METADATA_FIELDS
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

REST_STORAGE_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
CLOUD_STORAGE_ID = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
STREAMING_PROVIDER = "521eee4d-8cbe-4906-bb48-fb6bd4450033"
MIXPANEL_ID = "cbdf0d77-17f5-4a33-937d-cd0a889678a3"


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def put_body(document: dict) -> dict:
    return {key: copy.deepcopy(value) for key, value in document.items() if key not in METADATA_FIELDS}


def test_list_answers_every_flow_spec_of_the_sandbox_wrapped_in_items(emulator):
    response = emulator.get(FLOW_SPECS)
    assert response.status_code == 200
    assert set(response.json()) == {"items"}
    assert len(response.json()["items"]) == 6
    assert {item["sandboxName"] for item in response.json()["items"]} == {"dev"}


def test_a_property_filter_keeps_matching_documents(emulator):
    assert names(emulator.get(FLOW_SPECS, params={"property": "name==GenericStreamingAEP"})) == ["GenericStreamingAEP"]


def test_comma_separated_values_are_alternatives(emulator):
    response = emulator.get(FLOW_SPECS, params={"property": f"id=={GENERIC_STREAMING_ID},{REST_STORAGE_ID}"})
    assert names(response) == ["GenericStreamingAEP", "RestStorageToAEP"]


def test_repeated_property_filters_must_all_match(emulator):
    both = emulator.get(
        FLOW_SPECS,
        params=[("property", f"providerId=={STREAMING_PROVIDER}"), ("property", "name==GenericStreamingAEP")],
    )
    assert names(both) == ["GenericStreamingAEP"]
    none = emulator.get(
        FLOW_SPECS, params=[("property", f"providerId=={STREAMING_PROVIDER}"), ("property", "name==CRMToAEP")]
    )
    assert names(none) == []


def test_an_empty_property_filter_is_no_filter(emulator):
    assert len(emulator.get(FLOW_SPECS, params={"property": ""}).json()["items"]) == 6


def test_a_provider_filter_finds_the_streaming_specs(emulator):
    response = emulator.get(FLOW_SPECS, params={"property": f"providerId=={STREAMING_PROVIDER}"})
    assert names(response) == [
        "GenericStreamingAEP",
        "Streaming with transformation",
        "Streaming without transformation",
    ]


def test_a_filter_on_an_array_field_matches_any_element(emulator):
    response = emulator.get(FLOW_SPECS, params={"property": f"sourceConnectionSpecIds=={MIXPANEL_ID}"})
    assert names(response) == ["GenericStreamingAEP"]


def test_a_malformed_property_filter_is_a_400_that_says_why(emulator):
    response = emulator.get(FLOW_SPECS, params={"property": "name"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")
    assert "Invalid property filter 'name'" in response.json()["report"]["detailed-message"]


def test_limit_pages_the_list_and_next_link_follows_to_the_end(emulator):
    first = emulator.get(FLOW_SPECS, params={"limit": 4})
    assert len(first.json()["items"]) == 4
    href = first.json()["_links"]["next"]["href"]
    assert href.startswith("/flowSpecs?continuationToken=")
    second = emulator.get("/data/foundation/flowservice" + href)
    assert len(second.json()["items"]) == 2
    assert "_links" not in second.json()
    seen = [item["id"] for item in first.json()["items"] + second.json()["items"]]
    assert sorted(seen) == sorted(item["id"] for item in emulator.get(FLOW_SPECS).json()["items"])


def test_paging_keeps_the_filters_of_the_first_page(emulator):
    query = [("property", f"providerId=={STREAMING_PROVIDER}"), ("limit", "2")]
    first = emulator.get(FLOW_SPECS, params=query).json()
    second = emulator.get("/data/foundation/flowservice" + first["_links"]["next"]["href"]).json()
    assert [len(first["items"]), len(second["items"])] == [2, 1]
    assert {item["providerId"] for item in first["items"] + second["items"]} == {STREAMING_PROVIDER}


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "many"}, {"continuationToken": "not-a-token"}])
def test_bad_paging_parameters_are_a_400(emulator, params):
    response = emulator.get(FLOW_SPECS, params=params)
    assert response.status_code == 400
    assert response.json()["report"]["request-id"] == response.headers["x-request-id"]


def test_get_one_flow_spec_answers_it_wrapped_in_items(emulator):
    response = emulator.get(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}")
    assert response.status_code == 200
    (document,) = response.json()["items"]
    assert document["id"] == GENERIC_STREAMING_ID
    assert document["name"] == "GenericStreamingAEP"
    assert document["x-internalTier"] == "self-serve-streaming"


def test_an_unknown_flow_spec_is_1101_404(emulator):
    response = emulator.get(f"{FLOW_SPECS}/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-1101-404"
    assert body["title"] == "Resource not found"
    assert body["status"] == 404
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert body["errorMessage"]


def test_a_malformed_flow_spec_id_is_1413_400(emulator):
    response = emulator.get(f"{FLOW_SPECS}/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1413-400")


def test_sandboxes_hold_their_own_documents_and_prod_lags_one_source(emulator):
    dev = emulator.document("dev", GENERIC_STREAMING_ID)
    prod = emulator.document("prod", GENERIC_STREAMING_ID)
    assert (dev["sandboxName"], prod["sandboxName"]) == ("dev", "prod")
    assert dev["sandboxId"] != prod["sandboxId"]
    assert set(dev["sourceConnectionSpecIds"]) - set(prod["sourceConnectionSpecIds"]) == {MIXPANEL_ID}
    assert emulator.document("stage", GENERIC_STREAMING_ID)["sourceConnectionSpecIds"] == dev["sourceConnectionSpecIds"]


def test_sandbox_names_are_matched_lower_case(emulator):
    assert (
        emulator.get(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", sandbox="DEV").json()["items"][0]["sandboxName"] == "dev"
    )


# --- PUT -------------------------------------------------------------------------------------
def test_put_replaces_the_document_and_stamps_the_update(emulator):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    body = put_body(before)
    body["sourceConnectionSpecIds"] = [*body["sourceConnectionSpecIds"], NEW_STREAMING_SOURCE_ID]
    response = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body)
    assert response.status_code == 200, response.text
    after = response.json()
    assert "items" not in after
    assert after["sourceConnectionSpecIds"][-1] == NEW_STREAMING_SOURCE_ID
    assert after["updatedAt"] > before["updatedAt"]
    assert after["updatedClient"] == emulator.client_id
    assert after["updatedBy"].endswith("@techacct.adobe.com")
    for kept in ("createdAt", "createdBy", "createdClient", "sandboxId", "sandboxName", "imsOrgId", "x-internalTier"):
        assert after[kept] == before[kept]
    assert emulator.document("dev", GENERIC_STREAMING_ID) == after
    assert NEW_STREAMING_SOURCE_ID not in emulator.document("prod", GENERIC_STREAMING_ID)["sourceConnectionSpecIds"]


def test_put_keeps_fields_nobody_documented_and_drops_none(emulator):
    body = put_body(emulator.document("dev", GENERIC_STREAMING_ID))
    body["x-somethingNew"] = {"nested": [1, 2.5, None, True], "text": "ünïcode"}
    after = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body).json()
    assert put_body(after) == body
    assert list(put_body(after)) == list(body), "field order is kept"


def test_the_list_answers_each_document_as_a_put_left_it(emulator):
    body = put_body(emulator.document("dev", GENERIC_STREAMING_ID))
    body["x-somethingNew"] = {"nested": [1, 2.5, None, True], "text": "ünïcode"}
    stored = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body).json()

    [listed] = emulator.get(FLOW_SPECS, params={"property": f"id=={GENERIC_STREAMING_ID}"}).json()["items"]
    unfiltered = emulator.get(FLOW_SPECS).json()["items"]

    assert listed == stored and list(listed) == list(stored)
    assert [item for item in unfiltered if item["id"] == GENERIC_STREAMING_ID] == [stored]
    assert listed["x-somethingNew"]["nested"] == [1, 2.5, None, True]


def test_put_ignores_read_only_metadata_in_the_body(emulator):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    body = copy.deepcopy(before)
    body.update(createdAt=1, createdBy="someone-else", sandboxName="prod", imsOrgId="OTHER@AdobeOrg", updatedAt=2)
    after = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body).json()
    assert (after["createdAt"], after["createdBy"], after["sandboxName"], after["imsOrgId"]) == (
        before["createdAt"],
        before["createdBy"],
        "dev",
        before["imsOrgId"],
    )
    assert after["updatedAt"] > before["updatedAt"]


def test_updated_at_strictly_increases_over_quick_successive_puts(emulator):
    body = put_body(emulator.document("dev", GENERIC_STREAMING_ID))
    stamps = [emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body).json()["updatedAt"] for _ in range(3)]
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("name"), "Field 'name' is required."),
        (lambda b: b.pop("providerId"), "Field 'providerId' is required."),
        (lambda b: b.pop("version"), "Field 'version' is required."),
        (lambda b: b.pop("sourceConnectionSpecIds"), "Field 'sourceConnectionSpecIds' is required."),
        (lambda b: b.pop("targetConnectionSpecIds"), "Field 'targetConnectionSpecIds' is required."),
        (lambda b: b.update(name=""), "Field 'name' must be a non-empty string."),
        (lambda b: b.update(version=1.0), "Field 'version' must be a non-empty string."),
        (
            lambda b: b.update(sourceConnectionSpecIds="bdb5b792-451b-42de-acf8-15f3195821de"),
            "Field 'sourceConnectionSpecIds' must be an array of connection spec ids, not a string.",
        ),
        (
            lambda b: b["sourceConnectionSpecIds"].append("not-an-id"),
            'sourceConnectionSpecIds[5] is not a connection spec id (a UUID): "not-an-id".',
        ),
        (
            lambda b: b["sourceConnectionSpecIds"].append(b["sourceConnectionSpecIds"][0]),
            "sourceConnectionSpecIds[5] repeats the id 5decd67e-e6e1-475b-87bf-293fc3d28e1c.",
        ),
        (
            lambda b: b.update(targetConnectionSpecIds=None),
            "Field 'targetConnectionSpecIds' must be an array of connection spec ids, not null.",
        ),
        (lambda b: b.update(id=REST_STORAGE_ID), "does not match the flow spec id in the path"),
    ],
)
def test_put_refuses_an_incomplete_or_wrong_body_and_changes_nothing(emulator, change, message):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    body = put_body(before)
    change(body)
    response = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=body)
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")
    assert message in response.json()["report"]["detailed-message"]
    assert emulator.document("dev", GENERIC_STREAMING_ID) == before


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", "FLOW-1405-400", "The request body is empty."),
        (b"{not json", "FLOW-1100-400", "The request body is not valid JSON"),
        (b"[1, 2]", "FLOW-1100-400", "The request body must be a JSON object, not an array."),
    ],
)
def test_put_refuses_an_empty_or_unparsable_body(emulator, data, error, message):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    response = emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", data=data)
    assert response.status_code == 400
    assert response.json()["type"].endswith(error)
    assert message in response.json()["errorMessage"]
    assert emulator.document("dev", GENERIC_STREAMING_ID) == before


def test_put_refuses_a_form_encoded_body(emulator):
    response = emulator.put(
        f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}",
        data=b"a=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


def test_put_on_an_unknown_flow_spec_is_1101_404_and_creates_nothing(emulator):
    body = put_body(emulator.document("dev", GENERIC_STREAMING_ID))
    body.pop("id")
    response = emulator.put(f"{FLOW_SPECS}/00000000-0000-4000-8000-000000000000", json=body)
    assert response.status_code == 404
    assert FlowSpecDocument.objects.filter(spec_id="00000000-0000-4000-8000-000000000000").count() == 0


def test_delete_is_not_offered(emulator):
    response = emulator.request("DELETE", f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"
    assert emulator.document("dev", GENERIC_STREAMING_ID)["id"] == GENERIC_STREAMING_ID


# --- POST ------------------------------------------------------------------------------------
def test_post_creates_a_flow_spec_in_that_sandbox_only(emulator):
    response = emulator.post(FLOW_SPECS, json={"name": "PartnerStreaming", "providerId": STREAMING_PROVIDER})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["sandboxName"] == "dev"
    assert response.headers["Location"].endswith(created["id"])
    assert emulator.document("dev", created["id"])["name"] == "PartnerStreaming"
    assert emulator.get(f"{FLOW_SPECS}/{created['id']}", sandbox="prod").status_code == 404


def test_post_needs_a_name_and_a_provider(emulator):
    response = emulator.post(FLOW_SPECS, json={"name": "Nameless provider"})
    assert response.status_code == 400
    assert "Field 'providerId' is required." in response.json()["errorMessage"]
    assert len(emulator.get(FLOW_SPECS).json()["items"]) == 6
