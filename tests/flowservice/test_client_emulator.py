"""The Flow Service client over real HTTP against the embedded emulator (seeded from `specs/`)."""

import logging
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from flowadmin.documents import json_patch, put_body, source_ids, validate_document, with_source_ids
from flowadmin.flowservice import FlowServiceClient, FlowServiceError, OutcomeUnknownError, client_options, get_client
from flowadmin.flowservice.errors import TITLE_MALFORMED
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

pytestmark = pytest.mark.usefixtures("transactional_db")

FLOW_SPEC_PATH = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"
SEEDED_FLOW_SPECS = {
    "GenericStreamingAEP",
    "RestStorageToAEP",
    "CloudStorageToAEP",
    "CRMToAEP",
    "Streaming with transformation",
    "Streaming without transformation",
}


class SmallPages(HTTPAdapter):
    """Asks the emulator for pages of two (the client itself never sets a page size)."""

    def send(self, request, **kwargs):
        first_page = "/flowSpecs" in request.url and "continuationToken" not in request.url
        if first_page and request.method == "GET" and not request.url.rstrip("/").endswith(GENERIC_STREAMING_ID):
            request.url += ("&" if "?" in request.url else "?") + "limit=2"
        if "/sandboxes" in request.url:
            request.url = request.url.replace("limit=50", "limit=2")
        return super().send(request, **kwargs)


@pytest.fixture
def tiny_backoff(settings):
    settings.FLOWSERVICE_BACKOFF = 0.001
    settings.FLOWSERVICE_BACKOFF_MAX = 0.01


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(emulator, settings, waits) -> FlowServiceClient:
    """A client built from the settings the fixture pointed at the emulator, recording its waits."""
    client = FlowServiceClient(**client_options(settings), sleep=waits.append)
    yield client
    client.close()


def proposed_document(document: dict) -> dict:
    return with_source_ids(document, [*source_ids(document), NEW_STREAMING_SOURCE_ID])


def statuses(entries: list[dict]) -> list:
    return [entry["status"] for entry in entries]


# --- every call ------------------------------------------------------------------------------------
def test_get_client_talks_to_the_emulator(emulator, tiny_backoff):
    client = get_client()
    assert client.platform_url == emulator.url
    assert {spec["name"] for spec in client.list_flow_specs("dev")} == SEEDED_FLOW_SPECS


def test_list_flow_specs_with_property_filters(client):
    (spec,) = client.list_flow_specs("dev", properties=["name==GenericStreamingAEP"])
    assert spec["id"] == GENERIC_STREAMING_ID
    matching = client.list_flow_specs("dev", properties=[f"id=={GENERIC_STREAMING_ID},nope", "name!=x"])
    assert [spec["id"] for spec in matching] == [GENERIC_STREAMING_ID]
    assert client.list_flow_specs("dev", properties=["name==NoSuchSpec"]) == []


def test_list_flow_specs_follows_the_emulators_next_links(emulator, settings):
    session = requests.Session()
    session.mount("http://", SmallPages())
    client = FlowServiceClient(**client_options(settings), session=session)
    assert {spec["name"] for spec in client.list_flow_specs("dev")} == SEEDED_FLOW_SPECS
    assert len(emulator.log(method="GET", path=FLOW_SPECS)) == 3
    filtered = client.list_flow_specs("dev", properties=["attributes.frequency==batch"])
    assert filtered and all(spec["attributes"]["frequency"] == "batch" for spec in filtered)


def test_get_flow_spec_unwraps_the_document_with_its_metadata(client):
    spec = client.get_flow_spec("DEV", GENERIC_STREAMING_ID)
    assert spec["name"] == "GenericStreamingAEP"
    assert spec["sandboxName"] == "dev"
    assert validate_document(spec) == []


def test_get_flow_spec_of_an_unknown_id_is_a_flow_service_404(client, emulator):
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", "00000000-0000-4000-8000-000000000000")
    error = caught.value
    assert (error.status, error.code, error.title) == (404, "FLOW-1101-404", "Resource not found")
    assert error.request_id == emulator.log()[-1]["request_id"]


def test_connection_specs_are_listed_filtered_and_read(client):
    specs = client.list_connection_specs("dev")
    assert len(specs) > 10
    (one,) = client.list_connection_specs("dev", properties=[f"id=={specs[0]['id']}"])
    assert client.get_connection_spec("dev", one["id"])["name"] == one["name"]


def test_list_sandboxes_keeps_the_active_ones(client):
    assert [sandbox["name"] for sandbox in client.list_sandboxes()] == ["prod", "dev", "stage"]
    everything = client.list_sandboxes(active_only=False)
    assert {sandbox["name"] for sandbox in everything} == {"prod", "dev", "stage", "legacy-dev"}


def test_list_sandboxes_pages_with_limit_and_offset(emulator, settings):
    session = requests.Session()
    session.mount("http://", SmallPages())
    client = FlowServiceClient(**client_options(settings), session=session)
    assert {sandbox["name"] for sandbox in client.list_sandboxes(active_only=False)} == {
        "prod",
        "dev",
        "stage",
        "legacy-dev",
    }
    assert len(emulator.log(method="GET", path="/data/foundation/sandbox-management/sandboxes")) == 2


def test_put_adds_a_source_id_and_changes_nothing_else(client, emulator):
    before = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    assert NEW_STREAMING_SOURCE_ID not in source_ids(before)
    proposed = proposed_document(before)
    assert validate_document(proposed) == []

    with client.recording() as exchanges:
        answer = client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed)

    after = emulator.document("dev", GENERIC_STREAMING_ID)
    assert put_body(after) == put_body(proposed)
    assert list(put_body(after)) == list(put_body(proposed))
    assert json_patch(put_body(before), put_body(after)) == [
        {"op": "add", "path": f"/sourceConnectionSpecIds/{len(source_ids(before))}", "value": NEW_STREAMING_SOURCE_ID}
    ]
    assert answer == after
    assert answer["updatedAt"] >= before["updatedAt"]
    (put,) = emulator.log(method="PUT")
    assert put["status"] == 200
    assert exchanges[-1].as_dict()["request_id"] == put["request_id"]


# --- authentication --------------------------------------------------------------------------------
def test_a_revoked_token_is_renewed_once_and_the_call_repeated(client, emulator):
    client.list_flow_specs("dev")
    emulator.revoke_tokens()
    emulator.token()  # the fixture's own token, asked for now so its request stays out of the log
    emulator.clear_log()
    assert len(client.list_flow_specs("dev")) == len(SEEDED_FLOW_SPECS)
    assert [(entry["method"], entry["status"]) for entry in emulator.log()] == [
        ("GET", 401),
        ("POST", 200),
        ("GET", 200),
    ]


def test_an_injected_gateway_401_renews_the_token_and_repeats_once(client, emulator):
    client.auth.token()
    emulator.clear_log()
    emulator.add_fault(action="respond", path=FLOW_SPEC_PATH, status=401, shape="gateway", times=1)
    assert client.get_flow_spec("dev", GENERIC_STREAMING_ID)["id"] == GENERIC_STREAMING_ID
    assert [(entry["method"], entry["status"]) for entry in emulator.log()] == [
        ("GET", 401),
        ("POST", 200),
        ("GET", 200),
    ]


def test_a_put_refused_by_the_gateway_is_repeated_once_with_a_new_token(client, emulator):
    proposed = proposed_document(client.get_flow_spec("dev", GENERIC_STREAMING_ID))
    emulator.add_fault(action="respond", method="PUT", status=401, shape="gateway", times=1)
    client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed)
    assert statuses(emulator.log(method="PUT")) == [401, 200]


def test_a_401_that_persists_after_renewal_is_reported(client, emulator):
    client.auth.token()
    emulator.clear_log()
    emulator.add_fault(action="respond", path=FLOW_SPEC_PATH, status=401, shape="gateway", times=5)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    assert (caught.value.status, caught.value.code, caught.value.title) == (401, "401013", "Oauth token is not valid")
    assert statuses(emulator.log(method="GET")) == [401, 401]


def test_wrong_credentials_are_an_ims_error(emulator, settings):
    client = FlowServiceClient(**{**client_options(settings), "client_secret": "not-the-secret"})
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert (caught.value.status, caught.value.code) == (401, "invalid_client")
    assert "not-the-secret" not in str(caught.value)


# --- error shapes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "status", "code", "title"),
    [
        ("flow", 403, "FLOW-2118-403", "Forbidden"),
        ("gateway", 403, "403003", "Api Key is invalid"),
        ("html", 500, "", "Internal Server Error"),
        ("flow", 412, "FLOW-1404-412", "Version not matching"),
    ],
)
def test_each_error_shape_is_parsed(client, emulator, shape, status, code, title):
    emulator.add_fault(action="respond", path=FLOW_SPEC_PATH, status=status, shape=shape, times=1)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    error = caught.value
    assert (error.status, error.code, error.title) == (status, code, title)
    assert error.request_id == emulator.log(method="GET")[-1]["request_id"]
    assert "<" not in error.detail
    assert error.request_id in str(error)


# --- retries ---------------------------------------------------------------------------------------
def test_reads_are_retried_honouring_retry_after(client, emulator, waits):
    emulator.add_fault(action="respond", method="GET", path=FLOW_SPEC_PATH, status=503, retry_after=2, times=2)
    assert client.get_flow_spec("dev", GENERIC_STREAMING_ID)["id"] == GENERIC_STREAMING_ID
    assert waits == [2.0, 2.0]
    assert statuses(emulator.log(method="GET")) == [503, 503, 200]


def test_throttling_by_the_gateway_is_retried(client, emulator, waits):
    emulator.add_fault(action="respond", method="GET", status=429, shape="gateway", retry_after=1, times=1)
    assert len(client.list_flow_specs("dev")) == len(SEEDED_FLOW_SPECS)
    assert waits == [1.0]


def test_reads_give_up_after_the_configured_retries(client, emulator, settings):
    emulator.add_fault(action="respond", method="GET", path=FLOW_SPEC_PATH, status=502, shape="html", times=20)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    assert caught.value.status == 502
    assert caught.value.retryable is True
    assert len(emulator.log(method="GET")) == settings.FLOWSERVICE_MAX_RETRIES + 1


def test_a_dropped_read_is_retried(client, emulator):
    emulator.add_fault(action="drop", method="GET", path=FLOW_SPEC_PATH, times=1)
    assert client.get_flow_spec("dev", GENERIC_STREAMING_ID)["id"] == GENERIC_STREAMING_ID
    assert statuses(emulator.log(method="GET")) == [None, 200]


def test_a_malformed_read_is_retried_and_then_reported(client, emulator):
    emulator.add_fault(action="malformed", method="GET", path=FLOW_SPEC_PATH, times=1)
    assert client.get_flow_spec("dev", GENERIC_STREAMING_ID)["id"] == GENERIC_STREAMING_ID
    emulator.add_fault(action="malformed", method="GET", path=FLOW_SPEC_PATH, times=20)
    with pytest.raises(FlowServiceError) as caught:
        client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    assert (caught.value.status, caught.value.title) == (200, TITLE_MALFORMED)


# --- writes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_put_is_never_retried(client, emulator, waits, status):
    before = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="respond", method="PUT", status=status, retry_after=1, times=1)
    with pytest.raises(FlowServiceError) as caught:
        client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed_document(before))
    assert caught.value.status == status
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert statuses(emulator.log(method="PUT")) == [status]
    assert waits == []
    assert emulator.document("dev", GENERIC_STREAMING_ID) == before


def test_a_put_applied_then_dropped_has_an_unknown_outcome_and_reads_back_changed(client, emulator):
    before = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="apply_then_drop", method="PUT", times=1)
    with client.recording() as exchanges, pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed_document(before))
    assert caught.value.status is None
    assert "read the document back" in caught.value.detail
    assert [(e.method, e.status) for e in exchanges] == [("PUT", None)]
    assert len(emulator.log(method="PUT")) == 1
    assert NEW_STREAMING_SOURCE_ID in source_ids(client.get_flow_spec("dev", GENERIC_STREAMING_ID))


def test_a_put_dropped_before_applying_has_an_unknown_outcome_and_reads_back_unchanged(client, emulator):
    before = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="drop", method="PUT", times=1)
    with pytest.raises(OutcomeUnknownError):
        client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed_document(before))
    assert len(emulator.log(method="PUT")) == 1
    assert client.get_flow_spec("dev", GENERIC_STREAMING_ID) == before


def test_a_put_answered_with_malformed_json_has_an_unknown_outcome(client, emulator):
    emulator.add_fault(action="malformed", method="PUT", times=1)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec(
            "dev", GENERIC_STREAMING_ID, proposed_document(emulator.document("dev", GENERIC_STREAMING_ID))
        )
    assert caught.value.status == 200
    assert len(emulator.log(method="PUT")) == 1


def test_a_put_that_times_out_has_an_unknown_outcome(emulator, settings):
    settings.FLOWSERVICE_READ_TIMEOUT = 0.3
    client = FlowServiceClient(**client_options(settings))
    before = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    emulator.add_fault(action="delay", method="PUT", delay_ms=1500, times=1)
    with pytest.raises(OutcomeUnknownError):
        client.put_flow_spec("dev", GENERIC_STREAMING_ID, proposed_document(before))
    # The emulator finishes the call after the client gave up: wait for it, then read back.
    for _ in range(100):
        if any(entry["status"] for entry in emulator.log(method="PUT")):
            break
        time.sleep(0.1)
    assert statuses(emulator.log(method="PUT")) == [200]
    assert NEW_STREAMING_SOURCE_ID in source_ids(client.get_flow_spec("dev", GENERIC_STREAMING_ID))


# --- secrets ---------------------------------------------------------------------------------------
def test_no_secret_reaches_the_logs_over_real_http(client, emulator, settings, caplog):
    caplog.set_level(logging.DEBUG)
    emulator.add_fault(action="respond", method="GET", status=503, retry_after=0, times=1)
    emulator.add_fault(action="apply_then_drop", method="PUT", times=1)
    document = client.get_flow_spec("dev", GENERIC_STREAMING_ID)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.put_flow_spec("dev", GENERIC_STREAMING_ID, document)
    token = client.auth.token()
    texts = [record.getMessage() for record in caplog.records] + [str(caught.value), repr(caught.value), repr(client)]
    assert any("flowSpecs" in text for text in texts)
    for text in texts:
        assert settings.ADOBE_CLIENT_SECRET not in text
        assert token not in text
