"""The IMS token endpoint, connection specs and the Sandbox API over real HTTP."""

import base64

import pytest

from tests.fixtures.emulator import CONNECTION_SPECS, FLOW_SPECS, NEW_STREAMING_SOURCE_ID, SANDBOXES, TOKEN

AVAILABLE_SANDBOXES = "/data/foundation/sandbox-management/"


def ask_token(emulator, **form):
    return emulator.session.post(emulator.url + TOKEN, data=form, timeout=30)


def credentials(emulator, **override):
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
    }
    form.update(override)
    return {key: value for key, value in form.items() if value is not None}


# --- IMS -------------------------------------------------------------------------------------
def test_client_credentials_get_a_bearer_token_for_about_a_day(emulator):
    response = ask_token(emulator, **credentials(emulator, scope="openid,AdobeID,read_organizations"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 86399)
    assert emulator.session.get(
        emulator.url + FLOW_SPECS, headers=emulator.headers("dev", token=body["access_token"]), timeout=30
    ).ok


def test_http_basic_client_authentication_is_accepted_too(emulator):
    basic = base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode()).decode()
    response = emulator.session.post(
        emulator.url + TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "override",
    [{"client_secret": "wrong"}, {"client_id": "someone-else"}, {"client_secret": None}, {"client_id": None}],
)
def test_wrong_or_missing_client_credentials_are_invalid_client(emulator, override):
    response = ask_token(emulator, **credentials(emulator, **override))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]
    assert "access_token" not in response.text


@pytest.mark.parametrize("grant_type", ["authorization_code", "password", None])
def test_other_grant_types_are_unsupported(emulator, grant_type):
    response = ask_token(emulator, **credentials(emulator, grant_type=grant_type))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_the_secret_is_never_echoed(emulator):
    response = ask_token(emulator, **credentials(emulator, client_id="x"))
    assert emulator.client_secret not in response.text


def test_an_emulator_with_no_configured_client_accepts_nobody(emulator, settings):
    settings.ADOBE_CLIENT_ID = ""
    settings.ADOBE_CLIENT_SECRET = ""
    assert ask_token(emulator, grant_type="client_credentials", client_id="", client_secret="").status_code == 401


# --- connection specs ------------------------------------------------------------------------
def test_connection_specs_list_every_spec_with_its_name(emulator):
    response = emulator.get(CONNECTION_SPECS)
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) >= 20
    assert all({"id", "name", "providerId", "version", "attributes"} <= set(item) for item in items)


def test_connection_specs_take_property_filters(emulator):
    response = emulator.get(CONNECTION_SPECS, params={"property": "name==Amazon S3,Salesforce"})
    assert sorted(item["name"] for item in response.json()["items"]) == ["Amazon S3", "Salesforce"]


def test_connection_specs_page_like_flow_specs(emulator):
    first = emulator.get(CONNECTION_SPECS, params={"limit": 20}).json()
    assert first["_links"]["next"]["href"].startswith("/connectionSpecs?continuationToken=")
    rest = emulator.get("/data/foundation/flowservice" + first["_links"]["next"]["href"]).json()
    assert len(first["items"]) + len(rest["items"]) == len(emulator.get(CONNECTION_SPECS).json()["items"])


def test_one_connection_spec_is_wrapped_in_items(emulator):
    response = emulator.get(f"{CONNECTION_SPECS}/{NEW_STREAMING_SOURCE_ID}")
    assert response.status_code == 200
    (spec,) = response.json()["items"]
    assert spec["id"] == NEW_STREAMING_SOURCE_ID
    assert spec["attributes"]["frequency"] == "streaming"


def test_unknown_and_malformed_connection_spec_ids_are_404_and_400(emulator):
    assert emulator.get(f"{CONNECTION_SPECS}/00000000-0000-4000-8000-000000000000").status_code == 404
    assert emulator.get(f"{CONNECTION_SPECS}/S3").json()["type"].endswith("FLOW-1413-400")


def test_a_connection_spec_cannot_be_deleted(emulator):
    response = emulator.request("DELETE", f"{CONNECTION_SPECS}/{NEW_STREAMING_SOURCE_ID}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert emulator.get(f"{CONNECTION_SPECS}/{NEW_STREAMING_SOURCE_ID}").status_code == 200


# --- sandboxes -------------------------------------------------------------------------------
def test_sandbox_list_shows_every_sandbox_of_the_organization(emulator):
    response = emulator.get(SANDBOXES, sandbox=None, params={"limit": 50, "offset": 0})
    assert response.status_code == 200
    body = response.json()
    assert [(s["name"], s["type"], s["state"]) for s in body["sandboxes"]] == [
        ("prod", "production", "active"),
        ("dev", "development", "active"),
        ("stage", "development", "active"),
        ("legacy-dev", "development", "deleted"),
    ]
    assert [s["isDefault"] for s in body["sandboxes"]] == [True, False, False, False]
    assert body["_page"] == {"limit": 50, "count": 4}
    assert "next" not in body["_links"]


def test_sandbox_list_pages_with_limit_and_offset(emulator):
    first = emulator.get(SANDBOXES, sandbox=None, params={"limit": 3, "offset": 0}).json()
    assert [s["name"] for s in first["sandboxes"]] == ["prod", "dev", "stage"]
    assert first["_page"] == {"limit": 3, "count": 3}
    next_url = first["_links"]["next"]["href"]
    assert next_url.endswith("/emulator/data/foundation/sandbox-management/sandboxes?limit=3&offset=3")
    second = emulator.session.get(next_url, headers=emulator.headers(None), timeout=30).json()
    assert [s["name"] for s in second["sandboxes"]] == ["legacy-dev"]
    assert "next" not in second["_links"]


def test_available_sandboxes_are_the_active_ones(emulator):
    body = emulator.get(AVAILABLE_SANDBOXES, sandbox=None).json()
    assert [s["name"] for s in body["sandboxes"]] == ["prod", "dev", "stage"]
    assert all("id" not in s for s in body["sandboxes"])


@pytest.mark.parametrize("params", [{"limit": "x"}, {"limit": 0}, {"offset": -1}])
def test_bad_sandbox_paging_is_a_400(emulator, params):
    assert emulator.get(SANDBOXES, sandbox=None, params=params).status_code == 400


def test_the_sandbox_api_needs_a_token_but_no_sandbox_header(emulator):
    assert emulator.session.get(emulator.url + SANDBOXES, timeout=30).json()["error_code"] == "403010"
    assert emulator.get(SANDBOXES, sandbox=None).status_code == 200
