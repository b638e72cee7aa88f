"""The checks in front of every call, in Adobe's order, with Adobe's error shapes; request ids."""

import base64
import json

import pytest

from flowadmin.emulator.services import token_issue
from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, SANDBOXES

SPEC = f"{FLOW_SPECS}/{GENERIC_STREAMING_ID}"


def call(emulator, *, drop=(), **replace):
    headers = emulator.headers("dev")
    for name in drop:
        headers.pop(name)
    headers.update(replace)
    return emulator.session.get(emulator.url + SPEC, headers=headers, timeout=30)


def test_a_call_without_a_token_is_403010_in_the_gateway_shape(emulator):
    response = call(emulator, drop=["Authorization", "x-api-key", "x-sandbox-name"])
    assert response.status_code == 403
    assert response.json() == {"error_code": "403010", "message": "Oauth token is missing."}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer ", "Basic abc", "Bearer a.b.c"])
def test_an_invalid_token_is_401013(emulator, authorization):
    response = call(emulator, Authorization=authorization)
    assert response.status_code == 401
    assert response.json() == {"error_code": "401013", "message": "Oauth token is not valid"}


def test_an_expired_token_is_401013(emulator):
    expired = token_issue(client_id=emulator.client_id, lifetime_s=-1)
    response = call(emulator, Authorization=f"Bearer {expired}")
    assert response.status_code == 401
    assert response.json()["error_code"] == "401013"


def test_a_revoked_token_is_401013_and_a_new_one_works(emulator):
    old = emulator.token()
    emulator.revoke_tokens()
    assert call(emulator, Authorization=f"Bearer {old}").status_code == 401
    assert emulator.get(SPEC).status_code == 200


def test_a_token_with_a_tampered_payload_is_401013(emulator):
    header, payload, signature = emulator.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["expires_in"] = str(10**15)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = call(emulator, Authorization=f"Bearer {header}.{forged}.{signature}")
    assert response.status_code == 401


def test_a_missing_api_key_is_403000(emulator):
    response = call(emulator, drop=["x-api-key"])
    assert response.status_code == 403
    assert response.json() == {"error_code": "403000", "message": "Api Key is required"}


def test_an_api_key_of_another_client_is_403003(emulator):
    response = call(emulator, **{"x-api-key": "someone-elses-client"})
    assert response.status_code == 403
    assert response.json() == {"error_code": "403003", "message": "Api Key is invalid"}


def test_the_token_is_checked_before_the_api_key(emulator):
    response = call(emulator, drop=["x-api-key"], Authorization="Bearer nonsense")
    assert response.json()["error_code"] == "401013"


def test_a_missing_sandbox_header_is_flow_2105_400(emulator):
    response = call(emulator, drop=["x-sandbox-name"])
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://ns.adobe.com/aep/errors/FLOW-2105-400"
    assert body["status"] == 400
    assert "x-sandbox-name" in body["report"]["detailed-message"]
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert body["report"]["timestamp"]
    assert body["errorMessage"] == body["report"]["detailed-message"]


def test_the_sandbox_header_is_checked_after_the_gateway(emulator):
    response = call(emulator, drop=["x-sandbox-name", "x-api-key"])
    assert response.json()["error_code"] == "403000"


@pytest.mark.parametrize("org", [None, "FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg"])
def test_a_missing_or_foreign_organization_is_flow_2000_401(emulator, org):
    response = call(emulator, drop=["x-gw-ims-org-id"]) if org is None else call(emulator, **{"x-gw-ims-org-id": org})
    assert response.status_code == 401
    assert response.json()["type"].endswith("FLOW-2000-401")


@pytest.mark.parametrize("sandbox", ["nowhere", "legacy-dev"])
def test_an_unknown_or_inactive_sandbox_is_refused(emulator, sandbox):
    response = call(emulator, **{"x-sandbox-name": sandbox})
    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-2106-400")
    assert sandbox in response.json()["errorMessage"]


def test_every_answer_carries_its_own_request_id(emulator):
    ids = {emulator.get(SPEC).headers["x-request-id"] for _ in range(3)}
    ids.add(emulator.get(SANDBOXES, sandbox=None).headers["x-request-id"])
    assert len(ids) == 4


def test_an_unknown_emulator_path_is_a_flow_shaped_404(emulator):
    response = emulator.get("/data/foundation/flowservice/runs")
    assert response.status_code == 404
    assert response.json()["type"].endswith("FLOW-1101-404")


def test_the_index_lists_the_endpoints_without_credentials(emulator):
    response = emulator.session.get(emulator.url + "/", timeout=30)
    assert response.status_code == 200
    assert response.json()["flowservice"] == emulator.url + "/data/foundation/flowservice"
    assert response.json()["sandboxes"] == ["prod", "dev", "stage"]
