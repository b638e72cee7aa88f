"""The login page with and without single sign-on, LOCAL_LOGIN's modes, and the SSO pages' refusals.

Signing in through a provider is proven in Chromium (tests/e2e/test_sso.py); these tests need none:
a provider that cannot be reached is a closed loopback port.
"""

import socket

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY

from flowadmin.accounts.sso.errors import PROVIDER_SAID, STALE, UNREACHABLE
from flowadmin.accounts.sso.views import BACKEND, ID_TOKEN_KEY, NO_ROLE_KEY
from flowadmin.accounts.views import LOCAL_LOGIN_OFF

LOGIN = "/accounts/login/"
START = "/accounts/sso/start/"
CALLBACK = "/accounts/sso/callback/"
NO_ROLE = "/accounts/sso/no-role/"
MISMATCH = "Your username and password didn't match"

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sso(settings):
    """Single sign-on configured with a provider nobody answers for."""
    settings.OIDC_ISSUER = f"http://127.0.0.1:{closed_port()}"
    settings.OIDC_PROVIDER_NAME = "Okta"
    settings.OIDC_RP_CLIENT_ID = "flowadmin"
    settings.OIDC_RP_CLIENT_SECRET = "s3cret-never-shown"
    settings.OIDC_TIMEOUT = 5
    return settings


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_without_single_sign_on_the_login_page_is_the_password_form_alone(client):
    page = client.get(LOGIN).text
    assert "Sign in with" not in page
    assert 'name="password"' in page
    assert client.get(START).status_code == 404
    assert client.get(CALLBACK, {"code": "c", "state": "s"}).status_code == 404


def test_with_single_sign_on_the_login_page_offers_the_provider_before_the_password_form(client, sso):
    page = client.get(LOGIN, {"next": "/changes/?status=pending"}).text

    link = f'href="{START}?next=/changes/%3Fstatus%3Dpending"'
    assert link in page
    assert "Sign in with Okta" in page
    assert page.index("Sign in with Okta") < page.index('name="password"')
    assert "Or log in with a password" in page
    assert "s3cret-never-shown" not in page


def test_local_login_off_shows_no_password_form_and_refuses_a_right_password(client, sso, staff_user):
    sso.LOCAL_LOGIN = "off"
    page = client.get(LOGIN).text
    assert "Sign in with Okta" in page
    assert 'name="password"' not in page

    response = client.post(LOGIN, {"username": "staff", "password": "pw-staff"})

    assert response.status_code == 403
    assert LOCAL_LOGIN_OFF.format(provider="Okta") in response.text
    assert not signed_in(client)


def test_local_login_superusers_lets_only_superusers_in_with_a_password(client, sso, staff_user, superuser):
    sso.LOCAL_LOGIN = "superusers"
    assert "Administrators: log in with a password" in client.get(LOGIN).text

    refused = client.post(LOGIN, {"username": "staff", "password": "pw-staff"})
    assert refused.status_code == 200
    assert MISMATCH in refused.text  # says nothing about whether the password was right
    assert not signed_in(client)

    assert client.post(LOGIN, {"username": "root", "password": "pw-root"}).status_code == 302
    assert signed_in(client)


def test_a_password_session_ends_once_local_login_is_switched_off(client, sso, staff_user):
    assert client.post(LOGIN, {"username": "staff", "password": "pw-staff"}).status_code == 302
    assert client.get("/").status_code == 200

    sso.LOCAL_LOGIN = "off"

    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_an_unknown_state_is_refused_with_a_message_and_signs_out_whoever_was_signed_in(client, sso, staff_user):
    client.force_login(staff_user)

    response = client.get(CALLBACK, {"code": "a-code", "state": "never-issued"})

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not signed_in(client)
    page = client.get(LOGIN).text
    assert STALE in page.replace("&#x27;", "'")
    assert STALE not in client.get(LOGIN).text  # shown once


def test_an_error_from_the_provider_is_shown_on_the_login_page(client, sso):
    response = client.get(CALLBACK, {"error": "access_denied", "error_description": "User is not assigned"})

    assert response["Location"] == LOGIN
    expected = PROVIDER_SAID.format(provider="Okta", detail="User is not assigned")
    assert expected in client.get(LOGIN).text.replace("&#x27;", "'")


def test_an_unreachable_provider_is_explained_on_the_login_page(client, sso):
    response = client.get(START)

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert UNREACHABLE.format(provider="Okta") in client.get(LOGIN).text


def test_logging_out_of_a_sso_session_ends_it_here_even_when_the_provider_is_unreachable(client, sso, staff_user):
    client.force_login(staff_user, backend=BACKEND)
    session = client.session
    session[ID_TOKEN_KEY] = "header.payload.signature"
    session.save()
    assert client.session[BACKEND_SESSION_KEY] == BACKEND

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not signed_in(client)


def test_logout_needs_a_post(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/accounts/logout/").status_code == 405
    assert signed_in(client)


def test_the_no_role_page_needs_a_refused_sign_in(client, sso):
    assert client.get(NO_ROLE)["Location"] == LOGIN

    session = client.session
    session[NO_ROLE_KEY] = {"username": "nina", "groups": ["everyone"]}
    session.save()
    page = client.get(NO_ROLE).text
    assert "No role in flowadmin" in page
    assert 'You signed in at Okta as <strong class="sso-username">nina</strong>' in page
    assert "Approvers</strong>: Approvers" in page  # no OIDC_ROLE_MAP: the groups of the roles' own names
