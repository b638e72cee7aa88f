"""Dataflows over real HTTP: list with property filters, orderby, count and paging; get; create; enable/disable."""

import pytest

from flowadmin.emulator.models import FlowDocument
from tests.fixtures.emulator import CRM_TO_AEP_ID, DATA_LAKE_ID, FLOWS, GENERIC_STREAMING_ID

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
SALESFORCE = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
PROD_BRAZE_WEB_SOURCE = "3157570c-a9f0-49e5-b20f-4c20b5fc2682"
PROD_BRAZE_MOBILE_SOURCE = "f9d66298-ba8e-43ed-9892-c2265f51cede"
PROD_BRAZE_WEB_FLOW = "3442ba06-9471-40bf-9e29-08a0660138d0"
DEV_HUBSPOT_FLOW = "75401971-886f-49d0-9293-90f161e0a553"
DEV_BRAZE_SOURCE = "eef736f1-46d8-4583-bf28-64c29e8335a9"


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def detail(response) -> str:
    return response.json()["report"]["detailed-message"]


# --- reading ---------------------------------------------------------------------------------
def test_the_list_holds_the_sandboxs_dataflows_wrapped_in_items(emulator):
    body = emulator.get(FLOWS, sandbox="dev").json()
    assert set(body) == {"items"}
    assert len(body["items"]) == 5
    assert {item["sandboxName"] for item in body["items"]} == {"dev"}
    assert {item["state"] for item in body["items"]} == {"enabled", "disabled"}


def test_one_dataflow_is_wrapped_in_items_with_what_adobe_returns(emulator):
    response = emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod")
    assert response.status_code == 200
    (flow,) = response.json()["items"]
    assert flow["flowSpec"] == {"id": GENERIC_STREAMING_ID, "version": "1.0"}
    assert flow["sourceConnectionIds"] == [PROD_BRAZE_WEB_SOURCE]
    assert flow["state"] == "enabled" and flow["etag"] == flow["version"]
    (source,) = flow["inheritedAttributes"]["sourceConnections"]
    assert (source["id"], source["connectionSpec"]["id"]) == (PROD_BRAZE_WEB_SOURCE, BRAZE)
    assert flow["inheritedAttributes"]["targetConnections"][0]["connectionSpec"]["id"] == DATA_LAKE_ID
    assert flow["runs"] == f"/runs?property=flowId=={PROD_BRAZE_WEB_FLOW}"
    assert flow["lastRunDetails"]["state"] == "success"
    assert flow["lastRunDetails"]["startedAtUTC"] < flow["lastRunDetails"]["completedAtUTC"]


def test_a_dataflow_never_run_has_no_last_run(emulator):
    (flow,) = emulator.get(f"{FLOWS}/{DEV_HUBSPOT_FLOW}").json()["items"]
    assert flow["state"] == "disabled" and "lastRunDetails" not in flow


@pytest.mark.parametrize("sandbox", ["dev", "stage"])
def test_a_dataflow_of_another_sandbox_is_not_found_there(emulator, sandbox):
    response = emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox=sandbox)
    assert response.status_code == 404
    assert response.json()["type"].endswith("FLOW-1101-404")


def test_unknown_and_malformed_ids_are_404_and_400(emulator):
    assert emulator.get(f"{FLOWS}/00000000-0000-4000-8000-000000000000").json()["status"] == 404
    malformed = emulator.get(f"{FLOWS}/not-a-flow")
    assert (malformed.status_code, malformed.json()["type"][-13:]) == (400, "FLOW-1413-400")


# --- filters ---------------------------------------------------------------------------------
def test_a_flow_spec_filter_finds_its_dataflows(emulator):
    response = emulator.get(FLOWS, sandbox="prod", params={"property": f"flowSpec.id=={CRM_TO_AEP_ID}"})
    assert names(response) == ["Salesforce accounts to AEP"]


def test_source_connection_filters_with_and_without_brackets_and_alternatives(emulator):
    plain = emulator.get(FLOWS, sandbox="prod", params={"property": f"sourceConnectionIds=={PROD_BRAZE_WEB_SOURCE}"})
    assert names(plain) == ["Braze Currents web events to AEP"]
    either = f"sourceConnectionIds[]=={PROD_BRAZE_WEB_SOURCE},{PROD_BRAZE_MOBILE_SOURCE}"
    assert names(emulator.get(FLOWS, sandbox="prod", params={"property": either})) == [
        "Braze Currents mobile events to AEP",
        "Braze Currents web events to AEP",
    ]


def test_the_dataflows_of_a_source_connection_spec_are_found_through_inherited_attributes(emulator):
    by_spec = f"inheritedAttributes.sourceConnections[].connectionSpec.id=={BRAZE}"
    everything = emulator.get(FLOWS, sandbox="prod", params={"property": by_spec}).json()["items"]
    assert sorted(item["state"] for item in everything) == ["disabled", "enabled", "enabled"]
    enabled = emulator.get(FLOWS, sandbox="prod", params=[("property", by_spec), ("property", "state==enabled")])
    assert len(enabled.json()["items"]) == 2


def test_a_filter_on_the_last_runs_status(emulator):
    failed = emulator.get(FLOWS, sandbox="prod", params={"property": "lastRunDetails.state==failed"})
    assert names(failed) == ["Amazon S3 orders to AEP", "Twilio Segment tracks to AEP"]


def test_the_in_form_is_not_adobes_and_is_refused_with_the_reason(emulator):
    response = emulator.get(FLOWS, params={"property": f"in(sourceConnectionIds,{DEV_BRAZE_SOURCE})"})
    assert response.status_code == 400
    assert "Invalid property filter" in detail(response)


def test_count_answers_only_the_number_of_matching_dataflows(emulator):
    assert emulator.get(FLOWS, sandbox="prod", params={"count": "true"}).json() == {"count": 9}
    disabled = emulator.get(FLOWS, sandbox="prod", params={"property": "state==disabled", "count": "true"})
    assert disabled.json() == {"count": 2}
    assert emulator.get(FLOWS, params={"count": "sometimes"}).status_code == 400


def test_orderby_sorts_ascending_or_descending_and_puts_missing_fields_last(emulator):
    ascending = [item["name"] for item in emulator.get(FLOWS, params={"orderby": "name"}).json()["items"]]
    assert ascending == sorted(ascending)
    descending = [item["name"] for item in emulator.get(FLOWS, params={"orderby": "-name"}).json()["items"]]
    assert descending == sorted(ascending, reverse=True)
    by_run = emulator.get(FLOWS, params={"orderby": "-lastRunDetails.startedAtUTC"}).json()["items"]
    assert by_run[-1]["id"] == DEV_HUBSPOT_FLOW, "the dataflow that never ran comes last"
    starts = [item["lastRunDetails"]["startedAtUTC"] for item in by_run[:-1]]
    assert starts == sorted(starts, reverse=True)
    assert emulator.get(FLOWS, params={"orderby": "name desc"}).status_code == 400


# --- paging ----------------------------------------------------------------------------------
def test_pages_of_a_large_sandbox_give_every_dataflow_exactly_once(emulator):
    made = emulator.seed_dataflows("dev", 230)
    first = emulator.get(FLOWS, params={"limit": 40}).json()
    assert len(first["items"]) == 40
    assert first["_links"]["next"]["href"].startswith("/flows?continuationToken=")
    paged = emulator.list_all(FLOWS, params={"limit": 40})
    ids = [item["id"] for item in paged]
    assert len(ids) == len(set(ids)) == 235
    assert set(made) <= set(ids)
    assert ids == [item["id"] for item in emulator.get(FLOWS).json()["items"]], "pages keep the order of creation"


def test_a_filter_and_an_order_carry_across_pages(emulator):
    emulator.seed_dataflows("dev", 120)
    query = {"property": "state==disabled", "orderby": "-createdAt", "limit": 7}
    paged = emulator.list_all(FLOWS, params=query)
    assert {item["state"] for item in paged} == {"disabled"}
    assert len(paged) == emulator.get(FLOWS, params={"property": "state==disabled", "count": "true"}).json()["count"]
    created = [item["createdAt"] for item in paged]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "ten"}, {"continuationToken": "garbage"}])
def test_bad_paging_is_a_400(emulator, params):
    response = emulator.get(FLOWS, params=params)
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")


# --- creating --------------------------------------------------------------------------------
def test_a_created_dataflow_answers_its_id_and_etag_and_is_enabled(emulator):
    source = emulator.create_source_connection("dev", BRAZE)
    body = {
        "name": "Braze Currents to AEP (new)",
        "description": "made by a test",
        "flowSpec": {"id": GENERIC_STREAMING_ID, "version": "1.0"},
        "sourceConnectionIds": [source["id"]],
        "targetConnectionIds": ["2f1ba5c4-6a3e-4d0f-9c0b-7e0a1b2c3d4e"],
        "transformations": [{"name": "Mapping", "params": {"mappingId": "abc", "mappingVersion": "0"}}],
        "lastRunDetails": {"state": "success"},
        "state": "disabled",
    }
    response = emulator.post(FLOWS, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"id", "etag"}
    assert response.headers["Location"] == f"/data/foundation/flowservice/flows/{answer['id']}"
    (flow,) = emulator.get(f"{FLOWS}/{answer['id']}").json()["items"]
    assert flow["state"] == "enabled", "state is the service's, not the body's"
    assert "lastRunDetails" not in flow, "a new dataflow has not run"
    assert flow["etag"] == answer["etag"]
    assert flow["transformations"] == body["transformations"]
    assert flow["inheritedAttributes"]["sourceConnections"][0]["connectionSpec"]["id"] == BRAZE
    assert flow["lastOperation"]["operation"] == "create"
    assert emulator.get(FLOWS, params={"property": f"sourceConnectionIds=={source['id']}"}).json()["items"] == [flow]


def test_a_missing_flow_spec_version_is_the_flow_specs(emulator):
    source = emulator.create_source_connection("dev", SALESFORCE)
    created = emulator.create_flow("dev", CRM_TO_AEP_ID, [source["id"]], flowSpec={"id": CRM_TO_AEP_ID})
    assert emulator.get(f"{FLOWS}/{created['id']}").json()["items"][0]["flowSpec"]["version"] == "1.0"


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        (
            {},
            [
                "Field 'name' is required.",
                "Field 'flowSpec' is required.",
                "Field 'sourceConnectionIds' is required.",
                "Field 'targetConnectionIds' is required.",
            ],
        ),
        (
            {"name": "x", "flowSpec": {"version": "1.0"}, "sourceConnectionIds": [], "targetConnectionIds": ["t"]},
            [
                "Field 'flowSpec.id' is required.",
                "Field 'sourceConnectionIds' must name at least one source connection.",
                'targetConnectionIds[0] is not a target connection id (a UUID): "t".',
            ],
        ),
        (
            {
                "name": "x",
                "flowSpec": {"id": GENERIC_STREAMING_ID},
                "sourceConnectionIds": [DEV_BRAZE_SOURCE],
                "targetConnectionIds": [DEV_BRAZE_SOURCE],
                "transformations": [{"name": "Mapping"}],
                "scheduleParams": {"frequency": "minute", "interval": 5},
            },
            [
                "Field 'transformations[0].params' is required.",
                "Field 'scheduleParams.interval' must be a whole number of at least 15 for frequency 'minute'.",
            ],
        ),
    ],
)
def test_an_invalid_body_is_a_400_listing_every_problem(emulator, body, messages):
    response = emulator.post(FLOWS, json=body)
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1100-400")
    for message in messages:
        assert message in detail(response)


def flow_body(flow_spec_id: str, *source_ids: str) -> dict:
    return {
        "name": "x",
        "flowSpec": {"id": flow_spec_id, "version": "1.0"},
        "sourceConnectionIds": list(source_ids),
        "targetConnectionIds": ["2f1ba5c4-6a3e-4d0f-9c0b-7e0a1b2c3d4e"],
    }


def test_references_are_checked_in_the_sandbox_and_nothing_is_written_when_refused(emulator):
    before = FlowDocument.objects.count()
    unknown_spec = emulator.post(FLOWS, json=flow_body("00000000-0000-4000-8000-000000000000", DEV_BRAZE_SOURCE))
    assert "Flow spec 00000000-0000-4000-8000-000000000000 does not exist in sandbox 'dev'." in detail(unknown_spec)
    other_sandbox = emulator.post(FLOWS, json=flow_body(GENERIC_STREAMING_ID, PROD_BRAZE_WEB_SOURCE))
    assert other_sandbox.status_code == 400
    assert f"Source connection(s) {PROD_BRAZE_WEB_SOURCE} do not exist in sandbox 'dev'." in detail(other_sandbox)
    not_listed = emulator.post(FLOWS, json=flow_body(CRM_TO_AEP_ID, DEV_BRAZE_SOURCE))
    assert f"uses connection spec {BRAZE}, which flow spec {CRM_TO_AEP_ID} (CRMToAEP) does not list" in detail(
        not_listed
    )
    wrong_version = emulator.post(
        FLOWS,
        json={
            **flow_body(GENERIC_STREAMING_ID, DEV_BRAZE_SOURCE),
            "flowSpec": {"id": GENERIC_STREAMING_ID, "version": "2.0"},
        },
    )
    assert "has version 1.0, not 2.0" in detail(wrong_version)
    assert all(r.json()["type"].endswith("FLOW-1100-400") for r in (unknown_spec, not_listed, wrong_version))
    assert FlowDocument.objects.count() == before


# --- enable / disable ------------------------------------------------------------------------
def test_disable_then_enable_with_if_match_changes_state_and_etag(emulator):
    (flow,) = emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod").json()["items"]
    action = f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}/action"
    disabled = emulator.post(action, sandbox="prod", params={"op": "disable"}, headers={"If-Match": flow["etag"]})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["id"] == PROD_BRAZE_WEB_FLOW and disabled.json()["etag"] != flow["etag"]
    (now,) = emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod").json()["items"]
    assert (now["state"], now["etag"], now["lastOperation"]["operation"]) == (
        "disabled",
        disabled.json()["etag"],
        "disable",
    )
    assert now["updatedAt"] > flow["updatedAt"] and now["lastRunDetails"] == flow["lastRunDetails"]
    assert emulator.post(action, sandbox="prod", params={"op": "ENABLE"}).status_code == 200
    assert emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod").json()["items"][0]["state"] == "enabled"


def test_a_stale_if_match_is_a_412_and_changes_nothing(emulator):
    (flow,) = emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod").json()["items"]
    action = f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}/action"
    response = emulator.post(action, sandbox="prod", params={"op": "disable"}, headers={"If-Match": '"stale"'})
    assert response.status_code == 412
    assert response.json()["type"].endswith("FLOW-1404-412")
    assert emulator.get(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}", sandbox="prod").json()["items"][0] == flow


def test_unknown_operations_flows_and_methods_are_refused(emulator):
    action = f"{FLOWS}/{DEV_HUBSPOT_FLOW}/action"
    assert "Unknown op 'pause'" in detail(emulator.post(action, params={"op": "pause"}))
    assert emulator.post(f"{FLOWS}/{PROD_BRAZE_WEB_FLOW}/action", params={"op": "disable"}).status_code == 404
    assert emulator.get(action).status_code == 405
    assert emulator.request("DELETE", f"{FLOWS}/{DEV_HUBSPOT_FLOW}").headers["Allow"] == "GET"
