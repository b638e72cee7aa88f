import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from flowadmin.documents import put_body, source_ids, with_source_ids
from flowadmin.flowservice import Exchange, FlowServiceError, OutcomeUnknownError
from flowadmin.flowservice.errors import (
    CODE_FOREIGN_LINK,
    CODE_MALFORMED,
    CODE_NOT_FOUND,
    CODE_PAGINATION_LOOP,
    TITLE_MALFORMED,
    TITLE_OUTCOME_UNKNOWN,
    TITLE_TIMEOUT,
)
from tests.flowservice.conftest import (
    CLIENT_ID,
    DATA_LAKE,
    FLOW,
    NEW_SOURCE_ID,
    ORG_ID,
    SANDBOXES,
    STREAMING_ID,
    Reply,
    dropped,
    flow_error,
    refused,
    streaming_spec,
)

OTHER_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"


def other_spec() -> dict:
    return streaming_spec(id=OTHER_ID, name="RestStorageToAEP", providerId="0ed90a81-07f4-4586-8190-b40eccef1c5a")


# --- the calls -------------------------------------------------------------------------------------
def test_list_flow_specs_returns_the_items(client, fake):
    fake.flow_specs["dev"][OTHER_ID] = other_spec()
    specs = client.list_flow_specs("dev")
    assert [spec["name"] for spec in specs] == ["GenericStreamingAEP", "RestStorageToAEP"]
    assert fake.calls("GET")[0].url == FLOW + "/flowSpecs"


def test_every_call_carries_the_adobe_headers(client, fake):
    client.list_flow_specs("Dev")
    call = fake.calls("GET")[0]
    assert call.headers["Authorization"].startswith("Bearer ")
    assert call.headers["x-api-key"] == CLIENT_ID
    assert call.headers["x-gw-ims-org-id"] == ORG_ID
    assert call.headers["x-sandbox-name"] == "dev"
    assert call.headers["Accept"] == "application/json"
    assert "Content-Type" not in call.headers
    uuid.UUID(call.headers["x-request-id"])


def test_every_call_has_connect_and_read_timeouts(make_client, fake):
    timeouts = []
    original = fake.send

    def send(request, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return original(request, **kwargs)

    fake.send = send
    client = make_client(connect_timeout=1.5, read_timeout=7.0)
    client.list_flow_specs("dev")
    client.list_sandboxes()
    assert timeouts == [(1.5, 7.0)] * 3  # the token, then both calls


def test_property_filters_are_repeated_query_parameters(client, fake):
    fake.flow_specs["dev"][OTHER_ID] = other_spec()
    specs = client.list_flow_specs("dev", properties=["name==RestStorageToAEP", f"id=={OTHER_ID},x", " "])
    assert [spec["id"] for spec in specs] == [OTHER_ID]
    assert fake.calls("GET")[0].query == [("property", "name==RestStorageToAEP"), ("property", f"id=={OTHER_ID},x")]


def test_list_flow_specs_follows_next_links_relative_or_absolute(client, fake):
    page = lambda name, href: Reply(200, {"items": [{"name": name}], "_links": {"next": {"href": href}}})  # noqa: E731
    fake.script(
        "GET",
        "*/flowSpecs",
        page("a", "/flowSpecs?continuationToken=t1"),
        page("b", FLOW + "/flowSpecs?continuationToken=t2"),
        page("c", "/data/foundation/flowservice/flowSpecs?continuationToken=t3"),
        Reply(200, {"items": [{"name": "d"}], "_links": {}}),
    )
    specs = client.list_flow_specs("dev", properties=["name==x"])
    assert [spec["name"] for spec in specs] == ["a", "b", "c", "d"]
    assert [call.url for call in fake.calls("GET")] == [
        FLOW + "/flowSpecs?property=name%3D%3Dx",
        FLOW + "/flowSpecs?continuationToken=t1",
        FLOW + "/flowSpecs?continuationToken=t2",
        FLOW + "/flowSpecs?continuationToken=t3",
    ]


@pytest.mark.parametrize(
    "href",
    [
        "https://attacker.example/data/foundation/flowservice/flowSpecs?continuationToken=t1",
        "http://platform.test/data/foundation/flowservice/flowSpecs?continuationToken=t1",  # plain HTTP
        "https://platform.test:8443/data/foundation/flowservice/flowSpecs?continuationToken=t1",  # another port
        "https://platform.test.attacker.example/flowSpecs",
        "https://platform.test@attacker.example/flowSpecs",
        "//attacker.example/data/foundation/flowservice/flowSpecs",
    ],
)
def test_a_next_link_to_another_host_or_scheme_is_not_followed(client, fake, href):
    fake.script("GET", "*/flowSpecs", Reply(200, {"items": [{"name": "a"}], "_links": {"next": {"href": href}}}))
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    error = caught.value
    assert (error.code, error.retryable) == (CODE_FOREIGN_LINK, False)
    assert "not to the Flow Service at https://platform.test: not followed" in str(error)
    assert [call.url for call in fake.calls()][-1] == FLOW + "/flowSpecs", "nothing was sent to the link"


def test_a_next_link_to_the_platform_host_with_its_default_port_is_followed(client, fake):
    nxt = {"_links": {"next": {"href": "https://PLATFORM.test:443/data/foundation/flowservice/flowSpecs?c=2"}}}
    fake.script(
        "GET", "*/flowSpecs", Reply(200, {"items": [{"name": "a"}], **nxt}), Reply(200, {"items": [{"name": "b"}]})
    )
    assert [spec["name"] for spec in client.list_flow_specs("dev")] == ["a", "b"]


def test_a_next_link_back_to_a_page_already_read_is_an_error(client, fake):
    looping = Reply(200, {"items": [{"name": "a"}], "_links": {"next": {"href": "/flowSpecs?continuationToken=t1"}}})
    fake.script("GET", "*/flowSpecs", looping, looping, looping)
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.code == CODE_PAGINATION_LOOP
    assert len(fake.calls("GET")) == 2


def test_get_flow_spec_unwraps_the_single_item(client):
    spec = client.get_flow_spec("dev", STREAMING_ID)
    assert spec == streaming_spec()


def test_get_flow_spec_accepts_a_bare_document(client, fake):
    fake.script("GET", f"*/flowSpecs/{STREAMING_ID}", Reply(200, streaming_spec()))
    assert client.get_flow_spec("dev", STREAMING_ID)["name"] == "GenericStreamingAEP"


def test_get_flow_spec_with_no_items_is_not_found(client, fake):
    fake.script("GET", "*/flowSpecs/*", Reply(200, {"items": []}, headers={"x-request-id": "r-9"}))
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", STREAMING_ID)
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (404, CODE_NOT_FOUND, "r-9")
    assert STREAMING_ID in caught.value.detail


def test_get_flow_spec_of_an_unknown_id_is_adobes_404(client):
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", OTHER_ID)
    assert (caught.value.status, caught.value.code) == (404, "FLOW-1101-404")


def test_spec_ids_cannot_change_the_path(client, fake):
    with pytest.raises(FlowServiceError):
        client.get_flow_spec("dev", "../connectionSpecs")
    assert fake.calls("GET")[0].url == FLOW + "/flowSpecs/..%2FconnectionSpecs"


def test_put_flow_spec_sends_the_body_as_given_and_returns_the_answer(client, fake):
    document = client.get_flow_spec("dev", STREAMING_ID)
    proposed = put_body(with_source_ids(document, [*source_ids(document), NEW_SOURCE_ID]))
    answer = client.put_flow_spec("dev", STREAMING_ID, proposed)
    (put,) = fake.calls("PUT")
    assert put.url == FLOW + f"/flowSpecs/{STREAMING_ID}"
    assert put.headers["Content-Type"] == "application/json"
    assert put.headers["x-sandbox-name"] == "dev"
    sent = json.loads(put.body)
    assert sent == proposed
    assert list(sent) == list(proposed)  # key order kept
    assert answer["sourceConnectionSpecIds"][-1] == NEW_SOURCE_ID
    assert answer["updatedAt"] == 1700000000000


def test_the_prepared_put_is_what_is_sent_but_for_the_masked_secrets(client, fake):
    body = put_body(client.get_flow_spec("dev", STREAMING_ID))
    prepared = client.put_request("dev", STREAMING_ID, body)
    client.put_flow_spec("dev", STREAMING_ID, body)
    (put,) = fake.calls("PUT")

    assert (prepared.method, prepared.url, prepared.body.encode("utf-8")) == ("PUT", put.url, put.body)
    secrets = {"Authorization", "x-api-key"}
    sent = {name: value for name, value in put.headers.items() if name in prepared.headers}
    assert sorted(sent) == sorted(prepared.headers), "the same headers"
    assert {k: v for k, v in sent.items() if k not in secrets} == {
        k: v for k, v in prepared.headers.items() if k not in secrets
    }
    assert prepared.headers["Authorization"] == "Bearer ***" and prepared.headers["x-api-key"] == "***"
    assert sent["Authorization"] != prepared.headers["Authorization"]
    curl = prepared.curl()
    assert curl.startswith(f"curl -X PUT {put.url} ") and "Bearer ***" in curl


def test_put_flow_spec_accepts_a_bare_answer(client, fake):
    fake.put_answer_wrapped = False
    answer = client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert answer["id"] == STREAMING_ID


def test_list_and_get_connection_specs(client, fake):
    assert {spec["id"] for spec in client.list_connection_specs("dev")} == {NEW_SOURCE_ID, DATA_LAKE}
    assert [s["id"] for s in client.list_connection_specs("dev", properties=[f"id=={DATA_LAKE}"])] == [DATA_LAKE]
    assert client.get_connection_spec("dev", DATA_LAKE)["name"] == "Data Lake"
    assert fake.calls("GET")[-1].url == FLOW + f"/connectionSpecs/{DATA_LAKE}"


def test_list_sandboxes_pages_with_limit_and_offset_and_keeps_active_ones(client, fake):
    fake.sandboxes = [{"name": f"sb{i}", "state": "active" if i % 3 else "deleted"} for i in range(120)]
    sandboxes = client.list_sandboxes()
    assert [sandbox["name"] for sandbox in sandboxes] == [f"sb{i}" for i in range(120) if i % 3]
    assert [call.query for call in fake.calls("GET")] == [
        [("limit", "50"), ("offset", "0")],
        [("limit", "50"), ("offset", "50")],
        [("limit", "50"), ("offset", "100")],
    ]
    assert all(call.url.startswith(SANDBOXES) for call in fake.calls("GET"))
    assert "x-sandbox-name" not in fake.calls("GET")[0].headers


def test_list_sandboxes_can_include_inactive_ones(client, fake):
    fake.sandboxes.append({"name": "old", "state": "deleted"})
    assert [sandbox["name"] for sandbox in client.list_sandboxes(active_only=False)] == ["prod", "dev", "old"]


def test_list_sandboxes_stops_on_an_empty_next_link(client, fake):
    full = Reply(200, {"sandboxes": [{"name": str(i), "state": "active"} for i in range(50)], "_links": {"next": {}}})
    fake.script("GET", "*/sandboxes", full)
    assert len(client.list_sandboxes()) == 50
    assert len(fake.calls("GET")) == 1


def test_list_sandboxes_uses_the_page_size_the_server_chose(client, fake):
    def page(start):
        return Reply(
            200,
            {
                "sandboxes": [{"name": str(i), "state": "active"} for i in range(start, start + 10)],
                "_page": {"limit": 10, "count": 10},
                "_links": {"next": {"href": "/sandboxes?more"}},
            },
        )

    fake.script("GET", "*/sandboxes", page(0), page(10), Reply(200, {"sandboxes": [], "_links": {"next": {}}}))
    assert len(client.list_sandboxes()) == 20
    assert [call.query[1] for call in fake.calls("GET")] == [("offset", "0"), ("offset", "10"), ("offset", "20")]


# --- error shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(403, flow_error("2119-403", "Missing permission", 403, "No manage permission", "body-req")),
            (403, "FLOW-2119-403", "Missing permission", "No manage permission", "body-req"),
        ),
        (
            Reply(403, {"error_code": "403003", "message": "Api Key is invalid"}, headers={"x-request-id": "gw-1"}),
            (403, "403003", "Api Key is invalid", "", "gw-1"),
        ),
        (
            Reply(404, text="<html><body><h1>Not here</h1></body></html>", reason="Not Found"),
            (404, "", "Not Found", "Not here", None),
        ),
        (
            Reply(409, {"code": "FLOW-1409-409", "message": "Conflict"}),
            (409, "FLOW-1409-409", "Conflict", "", None),
        ),
    ],
    ids=["flow", "gateway", "html", "code-message"],
)
def test_each_error_shape_becomes_one_flow_service_error(client, fake, reply, expected):
    fake.script("GET", "*/flowSpecs/*", reply)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", STREAMING_ID)
    error = caught.value
    status, code, title, detail, request_id = expected
    assert (error.status, error.code, error.title, error.detail) == (status, code, title, detail)
    sent_id = fake.calls("GET")[-1].headers["x-request-id"]
    assert error.request_id == (request_id or sent_id)
    assert error.exchange.request_id == error.request_id
    assert error.retryable is False
    assert title in str(error) and error.request_id in str(error)


def test_the_response_request_id_header_wins_over_the_body(client, fake):
    fake.script(
        "GET", "*/flowSpecs/*", Reply(404, flow_error("1101-404", "Nope", 404), headers={"x-request-id": "hdr"})
    )
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", STREAMING_ID)
    assert caught.value.request_id == "hdr"


def test_a_redirect_is_not_followed(client, fake):
    fake.script("GET", "*/flowSpecs", Reply(302, headers={"Location": "https://elsewhere.test/"}))
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.status == 302
    assert "elsewhere.test" in caught.value.detail


# --- retries of reads ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_reads_are_retried_on_passing_trouble_with_exponential_back_off(client, fake, waits, status):
    fake.script("GET", "*/flowSpecs", Reply(status, text="x"), Reply(status, text="x"), Reply(status, text="x"))
    assert len(client.list_flow_specs("dev")) == 1
    assert waits == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.4)]


def test_reads_give_up_after_the_configured_retries(client, fake, waits):
    fake.script("GET", "*/flowSpecs", *[Reply(503, flow_error("1103-503", "Service unavailable", 503))] * 5)
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.status == 503
    assert caught.value.retryable is True
    assert len(fake.calls("GET")) == 4
    assert len(waits) == 3


def test_back_off_is_capped_and_jittered(make_client, fake, waits):
    client = make_client(rng=lambda: 0.0, max_retries=6, backoff=0.5, backoff_max=1.5)
    fake.script("GET", "*/flowSpecs", *[Reply(502, text="x")] * 6)
    client.list_flow_specs("dev")
    assert waits == pytest.approx([0.25, 0.5, 0.75, 0.75, 0.75, 0.75])


def test_retry_after_seconds_is_honoured_and_capped(client, fake, waits):
    fake.script(
        "GET",
        "*/flowSpecs",
        Reply(429, {"error_code": "429050", "message": "Too many requests"}, headers={"Retry-After": "1"}),
        Reply(503, text="x", headers={"Retry-After": "3600"}),
    )
    client.list_flow_specs("dev")
    assert waits == [1.0, 2.0]


def test_retry_after_as_an_http_date_is_honoured(client, fake, waits):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake.script("GET", "*/flowSpecs", Reply(503, text="x", headers={"Retry-After": when}))
    client.list_flow_specs("dev")
    assert waits == [2.0]  # thirty seconds asked, capped by backoff_max


@pytest.mark.parametrize(
    "failure",
    [refused, dropped, requests.ReadTimeout, requests.ConnectTimeout, requests.exceptions.ChunkedEncodingError],
)
def test_reads_are_retried_when_no_answer_came(client, fake, waits, failure):
    fake.script("GET", "*/flowSpecs", failure(), failure())
    assert len(client.list_flow_specs("dev")) == 1
    assert len(waits) == 2


def test_a_read_that_never_gets_an_answer_fails_with_no_status(client, fake):
    fake.script("GET", "*/flowSpecs", *[requests.ReadTimeout()] * 4)
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.status is None
    assert caught.value.title == TITLE_TIMEOUT
    assert caught.value.retryable is True
    assert not isinstance(caught.value, OutcomeUnknownError)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 500])
def test_other_errors_are_not_retried(client, fake, waits, status):
    fake.script("GET", "*/flowSpecs", Reply(status, text="x"))
    with pytest.raises(FlowServiceError):
        client.list_flow_specs("dev")
    assert waits == []
    assert len(fake.calls("GET")) == 1


def test_malformed_json_on_a_read_is_retried_then_reported(client, fake, waits):
    fake.script("GET", "*/flowSpecs/*", *[Reply(200, text='{"items": [')] * 4)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", STREAMING_ID)
    error = caught.value
    assert (error.status, error.code, error.title) == (200, CODE_MALFORMED, TITLE_MALFORMED)
    assert "not valid JSON" in error.detail
    assert error.retryable is True
    assert len(fake.calls("GET")) == 4


def test_malformed_json_once_is_overcome_by_the_retry(client, fake):
    fake.script("GET", "*/flowSpecs/*", Reply(200, text="<html>oops</html>"))
    assert client.get_flow_spec("dev", STREAMING_ID)["id"] == STREAMING_ID


def test_a_list_answer_that_is_not_an_object_is_malformed(client, fake):
    fake.script("GET", "*/flowSpecs", Reply(200, [1, 2]))
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.code == CODE_MALFORMED


# --- writes are never retried blindly --------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_put_is_not_retried_on_an_error_answer(client, fake, waits, status):
    fake.script("PUT", "*", Reply(status, text="x", headers={"Retry-After": "1"}))
    with pytest.raises(FlowServiceError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert caught.value.status == status
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert len(fake.calls("PUT")) == 1
    assert waits == []


@pytest.mark.parametrize("failure", [requests.ReadTimeout, dropped, requests.exceptions.ChunkedEncodingError])
def test_a_put_that_may_have_reached_the_server_has_an_unknown_outcome(client, fake, waits, failure):
    fake.script("PUT", "*", failure())
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    error = caught.value
    assert error.status is None
    assert error.title == TITLE_OUTCOME_UNKNOWN
    assert "read the document back" in error.detail
    assert error.retryable is False
    assert error.exchange.method == "PUT"
    assert len(fake.calls("PUT")) == 1
    assert waits == []


def test_a_put_with_an_unreadable_success_answer_has_an_unknown_outcome(client, fake):
    fake.script("PUT", "*", Reply(200, text='{"items": [{"id": '))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert caught.value.status == 200
    assert len(fake.calls("PUT")) == 1


@pytest.mark.parametrize("answer", [{}, {"items": []}, [1]])
def test_a_put_answered_without_a_document_has_an_unknown_outcome(client, fake, answer):
    fake.script("PUT", "*", Reply(200, answer))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert caught.value.status == 200


@pytest.mark.parametrize("failure", [refused, requests.ConnectTimeout])
def test_a_put_that_never_left_may_be_retried(client, fake, waits, failure):
    fake.script("PUT", "*", failure())
    client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert len(fake.calls("PUT")) == 2
    assert len(waits) == 1


def test_a_put_that_can_never_connect_fails_as_a_plain_error(client, fake):
    fake.script("PUT", "*", *[refused()] * 4)
    with pytest.raises(FlowServiceError) as caught:
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status is None
    assert "connection refused" in caught.value.detail


# --- recording and logging -------------------------------------------------------------------------
def test_recording_collects_every_exchange_with_retries_and_attempt_numbers(client, fake):
    fake.script("GET", "*/flowSpecs/*", Reply(503, text="x", headers={"x-request-id": "r1"}))
    with client.recording() as exchanges:
        client.get_flow_spec("dev", STREAMING_ID)
    assert [(e.method, e.status, e.attempt) for e in exchanges] == [("POST", 200, 1), ("GET", 503, 1), ("GET", 200, 2)]
    assert exchanges[1].request_id == "r1"
    assert exchanges[-1].url == FLOW + f"/flowSpecs/{STREAMING_ID}"
    assert set(exchanges[-1].as_dict()) == {"method", "url", "status", "request_id", "duration_ms", "attempt"}
    assert isinstance(exchanges[-1], Exchange)


def test_recording_is_per_thread(client):
    client.auth.token()
    with client.recording() as exchanges:
        thread = threading.Thread(target=client.list_flow_specs, args=("dev",))
        thread.start()
        thread.join()
        client.get_flow_spec("dev", STREAMING_ID)
    assert [e.url.rsplit("/", 1)[-1] for e in exchanges] == [STREAMING_ID]


def test_a_failed_exchange_is_recorded_without_status(client, fake):
    client.auth.token()
    fake.script("PUT", "*", requests.ReadTimeout())
    with client.recording() as exchanges, pytest.raises(OutcomeUnknownError):
        client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
    assert [(e.method, e.status) for e in exchanges] == [("PUT", None)]
    assert exchanges[0].request_id == fake.calls("PUT")[0].headers["x-request-id"]


def test_each_call_is_logged_with_method_url_status_duration_and_request_id(client, fake, caplog):
    caplog.set_level(logging.INFO, logger="flowadmin.flowservice")
    fake.script("GET", "*/flowSpecs/*", Reply(200, {"items": [streaming_spec()]}, headers={"x-request-id": "req-7"}))
    client.get_flow_spec("dev", STREAMING_ID)
    message = caplog.records[-1].getMessage()
    assert message.startswith(f"GET {FLOW}/flowSpecs/{STREAMING_ID} -> 200 in ")
    assert message.endswith("ms (request id req-7, attempt 1)")
