"""Fault injection: each action, matching, the `times` countdown, Retry-After, the control endpoint."""

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from flowadmin.emulator.models import FaultRule
from flowadmin.emulator.services import fault_rule_add, fault_take
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID, TOKEN

SPEC = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"


def with_new_source(document: dict) -> dict:
    body = dict(document)
    body["sourceConnectionSpecIds"] = [*document["sourceConnectionSpecIds"], NEW_STREAMING_SOURCE_ID]
    return body


def test_respond_answers_the_status_in_the_flow_shape_with_retry_after(emulator):
    emulator.add_fault(action="respond", method="GET", path=FLOW_SPECS + "/*", status=503, retry_after=2, times=1)
    response = emulator.get(SPEC)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    body = response.json()
    assert body["type"].endswith("FLOW-1103-503")
    assert body["title"] == "Service Unavailable"
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert emulator.get(SPEC).status_code == 200, "the rule was used up"


def test_respond_in_the_gateway_shape_can_throttle(emulator):
    emulator.add_fault(action="respond", status=429, shape="gateway", retry_after=1, times=1)
    response = emulator.get(SPEC)
    assert response.status_code == 429
    assert response.json() == {"error_code": "429050", "message": "Too many requests"}
    assert response.headers["Retry-After"] == "1"


def test_a_gateway_401_fault_rejects_a_valid_token_once(emulator):
    emulator.add_fault(action="respond", status=401, shape="gateway", times=1)
    first = emulator.get(SPEC)
    assert first.status_code == 401
    assert first.json() == {"error_code": "401013", "message": "Oauth token is not valid"}
    assert emulator.get(SPEC).status_code == 200


def test_respond_in_the_html_shape_looks_like_a_load_balancer(emulator):
    emulator.add_fault(action="respond", status=502, shape="html", times=1)
    response = emulator.get(SPEC)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text


def test_a_token_endpoint_fault_answers_like_ims(emulator):
    emulator.add_fault(action="respond", path=TOKEN, status=503, times=1)
    response = emulator.session.post(emulator.url + TOKEN, data={"grant_type": "client_credentials"}, timeout=30)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_respond_without_a_status_is_a_503(emulator):
    assert emulator.add_fault(action="respond")["status"] == 503
    assert emulator.get(SPEC).status_code == 503


def test_delay_answers_normally_after_waiting(emulator):
    emulator.add_fault(action="delay", delay_ms=300, times=1)
    started = time.monotonic()
    response = emulator.get(SPEC)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_closes_the_connection_without_an_answer(emulator):
    emulator.add_fault(action="drop", method="GET", times=1)
    with pytest.raises(requests.ConnectionError):
        emulator.get(SPEC)
    assert emulator.get(SPEC).status_code == 200
    assert [(e["status"], e["fault"]) for e in emulator.log(method="GET")] == [(None, "drop"), (200, None)]


def test_a_dropped_put_changes_nothing(emulator):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="drop", method="PUT", times=1)
    with pytest.raises(requests.ConnectionError):
        emulator.put(SPEC, json=with_new_source(before))
    assert emulator.document("dev", GENERIC_STREAMING_ID) == before


def test_apply_then_drop_applies_the_put_but_loses_the_answer(emulator):
    before = emulator.document("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="apply_then_drop", method="PUT", times=1)
    with pytest.raises(requests.ConnectionError):
        emulator.put(SPEC, json=with_new_source(before))
    after = emulator.document("dev", GENERIC_STREAMING_ID)
    assert NEW_STREAMING_SOURCE_ID in after["sourceConnectionSpecIds"]
    assert after["updatedAt"] > before["updatedAt"]
    assert [(e["status"], e["fault"]) for e in emulator.log(method="PUT")] == [(200, "apply_then_drop")]


def test_malformed_answers_200_with_a_body_that_is_not_json(emulator):
    emulator.add_fault(action="malformed", times=1)
    response = emulator.get(SPEC)
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_rules_match_on_method_path_and_sandbox(emulator):
    emulator.add_fault(action="respond", method="PUT", path=FLOW_SPECS + "/*", sandbox="prod", status=500)
    assert emulator.get(SPEC, sandbox="prod").status_code == 200
    assert emulator.get(FLOW_SPECS, sandbox="prod").status_code == 200
    body = emulator.document("dev", GENERIC_STREAMING_ID)
    assert emulator.put(SPEC, json=body, sandbox="dev").status_code == 200
    assert emulator.put(SPEC, json=emulator.document("prod", GENERIC_STREAMING_ID), sandbox="PROD").status_code == 500


def test_times_counts_down_then_the_rule_expires(emulator):
    emulator.add_fault(action="respond", status=503, times=2)
    assert [emulator.get(SPEC).status_code for _ in range(3)] == [503, 503, 200]
    assert emulator.faults() == []


def test_a_rule_without_times_stays_until_cleared(emulator):
    emulator.add_fault(action="respond", status=500)
    assert [emulator.get(SPEC).status_code for _ in range(3)] == [500, 500, 500]
    assert emulator.faults()[0]["times"] is None
    emulator.clear_faults()
    assert emulator.get(SPEC).status_code == 200


def test_the_oldest_matching_rule_wins(emulator):
    emulator.add_fault(action="respond", status=502, times=1)
    emulator.add_fault(action="respond", status=504, times=1)
    assert [emulator.get(SPEC).status_code for _ in range(3)] == [502, 504, 200]


def test_the_control_endpoints_are_neither_faulted_nor_logged(emulator):
    emulator.add_fault(action="respond", status=500)
    assert emulator.faults()[0]["action"] == "respond"
    assert emulator.log() == []


def test_fault_rules_list_what_is_in_force(emulator):
    emulator.add_fault(action="delay", delay_ms=5, method="get", sandbox="DEV", times=3)
    assert emulator.faults() == [
        {
            "id": emulator.faults()[0]["id"],
            "method": "GET",
            "path": "*",
            "sandbox": "dev",
            "action": "delay",
            "status": None,
            "shape": None,
            "retry_after": None,
            "delay_ms": 5,
            "times": 3,
            "href": None,
        }
    ]


def test_next_link_points_a_list_answer_s_next_page_where_the_rule_says(emulator):
    elsewhere = "http://other.example:8081/data/foundation/flowservice/flowSpecs?continuationToken=x"
    emulator.add_fault(action="next_link", method="GET", path=FLOW_SPECS, sandbox="dev", href=elsewhere, times=1)
    items = emulator.get(FLOW_SPECS, sandbox="dev").json()
    assert items["_links"] == {"next": {"href": elsewhere}}
    assert len(items["items"]) >= 6, "the page itself is answered as usual"
    assert "_links" not in emulator.get(FLOW_SPECS, sandbox="dev").json(), "the rule was used up"
    emulator.add_fault(action="next_link", href=elsewhere, times=1)
    one = emulator.get(SPEC).json()
    assert one["items"][0]["id"] == GENERIC_STREAMING_ID and "_links" not in one  # one document: not a list


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({}, "'action' must be one of"),
        ({"action": "explode"}, "'action' must be one of"),
        ({"action": "respond", "status": 42}, "'status' must be an integer between 100 and 599"),
        ({"action": "respond", "times": 0}, "'times' must be an integer"),
        ({"action": "respond", "times": True}, "'times' must be an integer"),
        ({"action": "respond", "shape": "xml"}, "'shape' must be one of"),
        ({"action": "respond", "method": "FETCH"}, "'method' must be one of"),
        ({"action": "respond", "path": "flowSpecs"}, "'path' must be a glob"),
        ({"action": "respond", "colour": "red"}, "Unknown key(s) in the fault rule: colour"),
        ({"action": "next_link"}, "'href' is required by next_link"),
        ({"action": "next_link", "href": "/flowSpecs?page=2"}, "an absolute http(s) URL"),
        ({"action": "next_link", "href": "file:///etc/passwd"}, "an absolute http(s) URL"),
        ({"action": "respond", "href": "http://a.example/"}, "'href' is required by next_link (and only by it)"),
    ],
)
def test_an_invalid_rule_is_refused_with_the_reason(emulator, rule, message):
    response = emulator.request("POST", "/_faults", sandbox=None, json=rule)
    assert response.status_code == 400
    assert message in response.json()["errorMessage"]
    assert emulator.faults() == []


def test_the_fault_endpoint_needs_the_same_token(emulator):
    response = emulator.session.post(emulator.url + "/_faults", json={"action": "drop"}, timeout=30)
    assert response.json()["error_code"] == "403010"
    assert emulator.faults() == []


@pytest.mark.django_db(transaction=True)
def test_two_threads_never_both_consume_the_last_use_of_a_rule():
    fault_rule_add(rule={"action": "respond", "status": 503, "times": 1})
    barrier = threading.Barrier(8)
    taken = []

    def take():
        from django.db import connection

        try:
            barrier.wait()
            taken.append(fault_take(method="GET", path="/x", sandbox="dev"))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([rule for rule in taken if rule is not None]) == 1
    assert not FaultRule.objects.exists()


@pytest.mark.django_db
def test_without_a_socket_to_close_a_drop_raises_connection_dropped(client, settings):
    from flowadmin.emulator.gateway import ConnectionDropped
    from flowadmin.emulator.seed import seed_emulator
    from flowadmin.emulator.services import token_issue

    seed_emulator()
    fault_rule_add(rule={"action": "drop"})
    headers = {
        "Authorization": f"Bearer {token_issue(client_id=settings.ADOBE_CLIENT_ID)}",
        "x-api-key": settings.ADOBE_CLIENT_ID,
        "x-gw-ims-org-id": settings.ADOBE_ORG_ID,
        "x-sandbox-name": "dev",
    }
    with pytest.raises(ConnectionDropped):
        client.get("/emulator" + SPEC, headers=headers)


def test_a_fault_starts_only_once_the_whole_request_is_in(emulator):
    """A client that is slow to send its body (a busy machine between headers and body) does not have
    the fault start without it: a delay would otherwise wait out a request whose body never came."""
    emulator.add_fault(action="respond", method="PUT", path=SPEC, status=503, times=1)
    body = json.dumps(with_new_source(emulator.document("dev", GENERIC_STREAMING_ID))).encode()
    headers = {**emulator.headers("dev"), "Content-Length": str(len(body)), "Connection": "close"}
    url = urlsplit(emulator.url)
    head = f"PUT {url.path}{SPEC} HTTP/1.1\r\nHost: {url.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=30) as client:
        client.sendall(head.encode() + body[:100])
        time.sleep(0.5)  # long enough for the server to have taken the fault, had it not waited for the body
        assert [rule["times"] for rule in emulator.faults()] == [1], "the fault waits for the rest of the body"
        client.sendall(body[100:])
        answer = client.makefile("rb").readline()
    assert answer.startswith(b"HTTP/1.1 503"), answer
    assert emulator.faults() == [], "the whole request in, the fault was taken"
