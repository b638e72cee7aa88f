"""Secrets (the client secret, access tokens) appear in no repr, error, log record or exchange."""

import logging

import pytest
import requests

from flowadmin.flowservice import FlowServiceError
from tests.flowservice.conftest import (
    CLIENT_SECRET,
    STREAMING_ID,
    TOKEN_PREFIX,
    Reply,
    dropped,
    flow_error,
    streaming_spec,
)

WRONG_SECRET = "WrOnG-secret-value-93be1"
ECHO = f"header was Bearer {TOKEN_PREFIX}1 and secret {CLIENT_SECRET}"


def failing_calls(client, fake):
    """Run every error path once; return the errors raised."""
    fake.script(
        "GET",
        "*/flowSpecs/*",
        Reply(404, flow_error("1101-404", f"Not found {TOKEN_PREFIX}1", 404, ECHO, "body-id")),
        Reply(401, {"error_code": "401013", "message": ECHO}),
        Reply(401, {"error_code": "401013", "message": ECHO}),
        Reply(502, text=f"<html><body>{ECHO}</body></html>"),
        *[Reply(502, text=ECHO)] * 3,
        *[Reply(200, text="{" + ECHO)] * 4,
        *[requests.ReadTimeout(ECHO)] * 4,
        Reply(200, {"items": []}),
    )
    fake.script(
        "PUT",
        "*",
        requests.ReadTimeout(ECHO),
        dropped(),
        Reply(200, text=ECHO),
        Reply(400, [{"code": "x", "message": ECHO}]),
    )
    errors = []
    for _ in range(6):
        with pytest.raises(FlowServiceError) as caught:
            client.get_flow_spec("dev", STREAMING_ID)
        errors.append(caught.value)
    for _ in range(4):
        with pytest.raises(FlowServiceError) as caught:
            client.put_flow_spec("dev", STREAMING_ID, streaming_spec())
        errors.append(caught.value)
    return errors


def assert_clean(text: str) -> None:
    assert CLIENT_SECRET not in text
    assert WRONG_SECRET not in text
    assert TOKEN_PREFIX not in text


def test_no_secret_in_reprs_errors_exchanges_or_logs(make_client, fake, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client()
    with client.recording() as exchanges:
        errors = failing_calls(client, fake)
        refused = make_client(client_secret=WRONG_SECRET)
        with pytest.raises(FlowServiceError) as caught:
            refused.list_flow_specs("dev")
        errors.append(caught.value)
    assert len(errors) == 11
    assert any("[redacted]" in str(error) for error in errors)
    for error in errors:
        assert_clean(str(error))
        assert_clean(repr(error))
        assert_clean(repr(error.as_dict()))
        assert_clean(repr(error.exchange.as_dict()))
        assert error.__cause__ is None
    assert len(exchanges) > 20
    for exchange in exchanges:
        assert_clean(repr(exchange))
    for thing in (client, client.auth, client._transport, refused, refused.auth):
        assert_clean(repr(thing))
    assert caplog.records
    for record in caplog.records:
        assert_clean(record.getMessage())
        assert_clean(repr(record.args))
