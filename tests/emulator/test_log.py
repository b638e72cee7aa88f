"""The request log: every API call (token calls included), oldest first, filterable, clearable."""

from datetime import datetime

from tests.fixtures.emulator import CONNECTION_SPECS, FLOW_SPECS, GENERIC_STREAMING_ID, SANDBOXES, TOKEN

SPEC = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"


def test_the_log_starts_empty_in_each_test(emulator):
    assert emulator.log() == []


def test_every_api_call_is_logged_oldest_first(emulator):
    emulator.token(fresh=True)
    emulator.get(SPEC, sandbox="dev")
    emulator.get(CONNECTION_SPECS, sandbox="prod")
    emulator.get(f"{FLOW_SPECS}/00000000-0000-4000-8000-000000000000", sandbox="stage")
    emulator.get(SANDBOXES, sandbox=None)
    entries = emulator.log()
    assert [(e["method"], e["path"], e["sandbox"], e["status"]) for e in entries] == [
        ("POST", TOKEN, None, 200),
        ("GET", SPEC, "dev", 200),
        ("GET", CONNECTION_SPECS, "prod", 200),
        ("GET", f"{FLOW_SPECS}/00000000-0000-4000-8000-000000000000", "stage", 404),
        ("GET", SANDBOXES, None, 200),
    ]
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times)
    assert all(e["request_id"] for e in entries)


def test_refused_calls_are_logged_with_their_status(emulator):
    emulator.session.get(emulator.url + SPEC, headers={"x-sandbox-name": "Dev"}, timeout=30)
    assert [(e["sandbox"], e["status"]) for e in emulator.log()] == [("dev", 403)]


def test_the_log_filters_by_method_and_sandbox(emulator):
    document = emulator.document("dev", GENERIC_STREAMING_ID)
    emulator.put(SPEC, json=document, sandbox="dev")
    emulator.get(SPEC, sandbox="prod")
    assert [e["path"] for e in emulator.log(method="PUT")] == [SPEC]
    assert [e["method"] for e in emulator.log(sandbox="dev")] == ["GET", "PUT"]
    assert [e["sandbox"] for e in emulator.log(method="get", sandbox="PROD")] == ["prod"]
    assert len(emulator.log(path=FLOW_SPECS + "/*")) == 3


def test_the_log_answers_carry_the_request_ids_of_the_calls(emulator):
    response = emulator.get(SPEC)
    assert emulator.log()[-1]["request_id"] == response.headers["x-request-id"]


def test_delete_clears_the_log(emulator):
    emulator.get(SPEC)
    emulator.clear_log()
    assert emulator.log() == []


def test_the_log_needs_the_same_token(emulator):
    response = emulator.session.get(emulator.url + "/_log", headers={"Authorization": "Bearer x"}, timeout=30)
    assert response.status_code == 401
