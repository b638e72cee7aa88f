import threading
from urllib.parse import parse_qs

import pytest

from flowadmin.flowservice import FlowServiceError
from flowadmin.flowservice.errors import TITLE_AUTHENTICATION, TITLE_MALFORMED
from tests.flowservice.conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, TOKEN_PREFIX, TOKEN_URL, Reply


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_token_request_is_a_form_encoded_client_credentials_grant(client, fake):
    assert client.auth.token() == TOKEN_PREFIX + "1"
    (call,) = fake.calls("POST")
    assert call.url == TOKEN_URL
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(call.body) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": [SCOPES],
    }


def test_the_token_is_cached_between_calls(client, fake):
    client.list_flow_specs("dev")
    client.get_flow_spec("dev", "e77fde5a-22a8-11ed-861d-0242ac120002")
    client.list_sandboxes()
    assert fake.tokens_issued == 1


def test_the_token_is_renewed_shortly_before_it_expires(make_client, fake):
    clock = Clock()
    client = make_client(clock=clock)
    first = client.auth.token()
    clock.now += 86399 - 301
    assert client.auth.token() == first
    clock.now += 2
    assert client.auth.token() == TOKEN_PREFIX + "2"
    assert fake.tokens_issued == 2


def test_a_short_lived_token_is_renewed_within_its_lifetime(make_client, fake):
    fake.expires_in = 100
    clock = Clock()
    client = make_client(clock=clock)
    client.auth.token()
    clock.now += 89
    client.auth.token()
    assert fake.tokens_issued == 1
    clock.now += 2
    client.auth.token()
    assert fake.tokens_issued == 2


def test_a_401_renews_the_token_once_and_repeats_the_call_once(client, fake):
    client.list_flow_specs("dev")
    fake.valid_tokens.clear()  # the token was revoked
    assert [spec["name"] for spec in client.list_flow_specs("dev")] == ["GenericStreamingAEP"]
    assert fake.tokens_issued == 2
    assert len(fake.calls("GET", "*/flowSpecs")) == 3


def test_a_second_401_after_renewal_is_an_error_and_not_retried_again(client, fake):
    gateway_401 = Reply(401, {"error_code": "401013", "message": "Oauth token is not valid"})
    fake.script("GET", "*/flowSpecs", gateway_401, gateway_401, gateway_401)
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    assert caught.value.status == 401
    assert caught.value.code == "401013"
    assert caught.value.retryable is False
    assert len(fake.calls("GET", "*/flowSpecs")) == 2
    assert fake.tokens_issued == 2


def test_a_put_refused_with_401_is_repeated_once_with_a_new_token(client, fake):
    document = client.get_flow_spec("dev", "e77fde5a-22a8-11ed-861d-0242ac120002")
    fake.script("PUT", "*", Reply(401, {"error_code": "401013", "message": "Oauth token is not valid"}))
    client.put_flow_spec("dev", document["id"], document)
    puts = fake.calls("PUT")
    assert len(puts) == 2
    assert puts[0].headers["Authorization"] != puts[1].headers["Authorization"]


def test_ims_refusing_the_credentials_is_a_flow_service_error(make_client):
    client = make_client(client_secret="wrong-secret-value")
    with pytest.raises(FlowServiceError) as caught:
        client.list_flow_specs("dev")
    error = caught.value
    assert (error.status, error.code, error.title) == (401, "invalid_client", TITLE_AUTHENTICATION)
    assert error.detail == "invalid client_secret parameter"
    assert error.exchange.url == TOKEN_URL


def test_an_ims_answer_without_a_token_is_malformed(client, fake):
    fake.script("POST", "/ims/token/v3", Reply(200, {"token_type": "bearer"}))
    with pytest.raises(FlowServiceError) as caught:
        client.auth.token()
    assert caught.value.title == TITLE_MALFORMED


def test_ims_trouble_is_retried_like_a_read(client, fake, waits):
    fake.script("POST", "/ims/token/v3", Reply(503, text="busy"), Reply(429, {}, headers={"Retry-After": "1"}))
    assert client.auth.token() == TOKEN_PREFIX + "1"
    assert waits == [pytest.approx(0.1), 1.0]


def test_many_threads_needing_a_token_cause_one_token_request(client, fake):
    fake.token_gate = threading.Event()
    tokens, errors = [], []

    def work():
        try:
            tokens.append(client.auth.token())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    fake.token_gate.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert tokens == [TOKEN_PREFIX + "1"] * 12
    assert fake.tokens_issued == 1


def test_many_threads_hitting_a_401_renew_the_token_once(client, fake):
    client.auth.token()
    fake.valid_tokens.clear()
    results, errors = [], []

    def work():
        try:
            results.append(len(client.list_flow_specs("dev")))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results == [1] * 8
    assert fake.tokens_issued == 2


def test_the_renewed_token_is_used_by_the_next_calls(client, fake):
    client.auth.token()
    fake.valid_tokens.clear()
    client.list_flow_specs("dev")
    client.list_flow_specs("dev")
    last = fake.calls("GET")[-1]
    assert last.headers["Authorization"] == f"Bearer {TOKEN_PREFIX}2"
