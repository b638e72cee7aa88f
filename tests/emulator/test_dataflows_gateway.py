"""Dataflow, source connection and connection spec calls go through the gateway like every Flow Service call:
credentials, sandbox header, fault rules, request log; and the whole journey of a partner's new source."""

from flowadmin.emulator.models import SourceConnectionDocument
from tests.fixtures.emulator import CONNECTION_SPECS, FLOW_SPECS, FLOWS, GENERIC_STREAMING_ID, SOURCE_CONNECTIONS

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
STREAMING_PROVIDER = "521eee4d-8cbe-4906-bb48-fb6bd4450033"


def test_a_503_rule_on_the_dataflow_list_answers_in_adobes_shape_then_wears_off(emulator):
    emulator.add_fault(action="respond", method="GET", path=FLOWS, sandbox="prod", status=503, retry_after=3, times=1)
    refused = emulator.get(FLOWS, sandbox="prod")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "3"
    assert refused.json()["type"].endswith("FLOW-1103-503")
    assert emulator.get(FLOWS, sandbox="dev").status_code == 200, "the rule names prod only"
    assert emulator.get(FLOWS, sandbox="prod").status_code == 200, "the rule was used up"
    logged = emulator.log(path=FLOWS)
    assert [(e["sandbox"], e["status"], e["fault"]) for e in logged] == [
        ("prod", 503, "respond"),
        ("dev", 200, None),
        ("prod", 200, None),
    ]


def test_a_fault_on_a_create_answers_before_anything_is_written(emulator):
    before = SourceConnectionDocument.objects.count()
    emulator.add_fault(action="respond", method="POST", path=SOURCE_CONNECTIONS, status=500, times=1)
    body = {"name": "x", "connectionSpec": {"id": BRAZE, "version": "1.0"}, "data": {"format": "json"}}
    assert emulator.post(SOURCE_CONNECTIONS, json=body).status_code == 500
    assert SourceConnectionDocument.objects.count() == before
    assert emulator.post(SOURCE_CONNECTIONS, json=body).status_code == 201


def test_a_malformed_answer_rule_applies_to_one_dataflow_too(emulator):
    emulator.add_fault(action="malformed", path=FLOWS + "/*", times=1)
    response = emulator.get(f"{FLOWS}/75401971-886f-49d0-9293-90f161e0a553")
    assert response.status_code == 200
    assert response.text.endswith('"GenericStr')


def test_the_gateways_checks_come_first(emulator):
    no_token = emulator.session.get(emulator.url + FLOWS, timeout=30)
    assert no_token.json() == {"error_code": "403010", "message": "Oauth token is missing."}
    no_sandbox = emulator.get(SOURCE_CONNECTIONS, sandbox=None)
    assert (no_sandbox.status_code, no_sandbox.json()["type"][-13:]) == (400, "FLOW-2105-400")
    retired = emulator.post(CONNECTION_SPECS, sandbox="legacy-dev", json={"name": "x", "providerId": "y"})
    assert retired.json()["type"].endswith("FLOW-2106-400")


def test_a_partner_adds_a_source_and_runs_a_dataflow_through_the_api(emulator):
    spec = emulator.create_connection_spec(
        "dev",
        name="Acme Beacons",
        providerId=STREAMING_PROVIDER,
        attributes={"category": "Streaming", "isSource": True, "frequency": "streaming"},
    )
    refused = emulator.post(
        FLOWS,
        json={
            "name": "Acme Beacons to AEP",
            "flowSpec": {"id": GENERIC_STREAMING_ID, "version": "1.0"},
            "sourceConnectionIds": [emulator.create_source_connection("dev", spec["id"])["id"]],
            "targetConnectionIds": ["2f1ba5c4-6a3e-4d0f-9c0b-7e0a1b2c3d4e"],
        },
    )
    assert refused.status_code == 400, "GenericStreamingAEP does not list the new source yet"

    document = emulator.document("dev", GENERIC_STREAMING_ID)
    document["sourceConnectionSpecIds"].append(spec["id"])
    assert emulator.put(f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}", json=document).status_code == 200
    source = emulator.create_source_connection("dev", spec["id"], name="Acme Beacons events")
    flow = emulator.create_flow("dev", GENERIC_STREAMING_ID, [source["id"]], name="Acme Beacons to AEP")

    by_spec = f"inheritedAttributes.sourceConnections[].connectionSpec.id=={spec['id']}"
    (listed,) = emulator.get(FLOWS, params={"property": by_spec}).json()["items"]
    assert (listed["id"], listed["state"], listed["sourceConnectionIds"]) == (flow["id"], "enabled", [source["id"]])
