"""Discovery and the provider logout URL, against a discovery document served over HTTP on loopback.

(Signing in end to end is tests/e2e/test_sso.py, through a real OpenID Provider.)
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from flowadmin.accounts.sso import discovery
from flowadmin.accounts.sso.errors import MISCONFIGURED
from flowadmin.accounts.sso.views import BACKEND, ID_TOKEN_KEY

pytestmark = pytest.mark.django_db


class DiscoveryServer:
    """Answers GET /.well-known/openid-configuration with ``document`` (its issuer filled in) and counts the calls."""

    def __init__(self):
        self.document: dict = {}
        self.calls = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.calls += 1
                body = json.dumps({"issuer": server.issuer, **server.document}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def endpoints(self, **extra) -> dict:
        base = self.issuer
        return {
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/me",
            **extra,
        }


@pytest.fixture
def provider(settings):
    served = DiscoveryServer()
    served.thread.start()
    settings.OIDC_ISSUER = served.issuer
    settings.OIDC_PROVIDER_NAME = "Keycloak"
    settings.OIDC_RP_CLIENT_ID = "flowadmin"
    settings.OIDC_RP_CLIENT_SECRET = "s3cret"
    discovery.forget()
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()
    discovery.forget()


def sso_session(client, user):
    client.force_login(user, backend=BACKEND)
    session = client.session
    session[ID_TOKEN_KEY] = "the.id.token"
    session.save()


def test_the_endpoints_are_read_once_and_kept(provider):
    provider.document = provider.endpoints(end_session_endpoint=f"{provider.issuer}/logout")

    first = discovery.provider_metadata()
    again = discovery.provider_metadata()

    assert again == first
    assert first.token_endpoint == f"{provider.issuer}/token"
    assert first.end_session_endpoint == f"{provider.issuer}/logout"
    assert provider.calls == 1


def test_the_sign_in_starts_at_the_discovered_endpoint_with_pkce_state_and_nonce(client, provider):
    provider.document = provider.endpoints()

    response = client.get("/accounts/sso/start/", {"next": "/changes/"})

    target = urlsplit(response["Location"])
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/auth"
    assert query["response_type"] == "code"
    assert query["client_id"] == "flowadmin"
    assert query["redirect_uri"] == "http://testserver/accounts/sso/callback/"
    assert query["code_challenge_method"] == "S256"
    kept = client.session["oidc_states"][query["state"]]
    assert kept["nonce"] == query["nonce"]
    assert len(kept["code_verifier"]) >= 43
    assert "s3cret" not in response["Location"]


def test_a_document_for_another_issuer_is_refused_as_misconfigured(client, provider):
    provider.document = {**provider.endpoints(), "issuer": "https://someone-else.example.com"}

    assert client.get("/accounts/sso/start/")["Location"] == "/accounts/login/"
    assert MISCONFIGURED.format(provider="Keycloak") in client.get("/accounts/login/").text
    assert provider.calls == 1
    client.get("/accounts/sso/start/")
    assert provider.calls == 2  # a failed read is not kept


def test_logging_out_of_a_sso_session_goes_to_the_providers_end_session_endpoint(client, provider, staff_user):
    provider.document = provider.endpoints(end_session_endpoint=f"{provider.issuer}/logout?ui=1")
    sso_session(client, staff_user)

    response = client.post("/accounts/logout/")

    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/logout"
    assert parse_qs(target.query) == {
        "ui": ["1"],
        "client_id": ["flowadmin"],
        "post_logout_redirect_uri": ["http://testserver/accounts/login/"],
        "id_token_hint": ["the.id.token"],
    }
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("end_session", ["", "https://elsewhere.example.com/logout"])
def test_without_an_end_session_endpoint_on_the_issuers_host_logout_stays_local(
    client, provider, staff_user, end_session
):
    provider.document = provider.endpoints(end_session_endpoint=end_session)
    sso_session(client, staff_user)

    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_a_password_session_logs_out_locally_even_with_single_sign_on(client, provider, staff_user):
    provider.document = provider.endpoints(end_session_endpoint=f"{provider.issuer}/logout")
    client.force_login(staff_user)

    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert provider.calls == 0
