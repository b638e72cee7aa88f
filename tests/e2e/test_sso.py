"""Single sign-on in Chromium, through a real OpenID Provider (scripts/oidc-provider/server.mjs).

flowadmin runs under gunicorn with OIDC_* pointing at the provider, the role map below and
LOCAL_LOGIN=superusers (the setting production uses beside single sign-on). Each test signs in as
its own provider account, so that tests do not meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from flowadmin.accounts.sso.errors import EXPIRED, PROVIDER_SAID, UNVERIFIED

from .a11y import assert_no_serious_a11y_violations
from .conftest import REPORTED_LOGS
from .helpers import DEMO_PASSWORD, LOGIN_PATH
from .identity_provider import OpenIDProvider
from .server import HOST, E2EServer, free_port

pytestmark = pytest.mark.e2e

PROVIDER = "Test OP"
PASSWORD = "op-Password-1"
ROLE_MAP = "aep-onboarding=Onboarding staff,aep-approvers=Approvers,aep-auditors=Auditors"
ALL_ROLE_GROUPS = ["aep-onboarding", "aep-approvers", "aep-auditors"]
NO_ROLE_PATH = "/accounts/sso/no-role/"
BREAK_GLASS = ("breakglass", "Break-glass-Password-1")


def account(username: str, sub: str, groups: list[str]) -> dict:
    return {
        "username": username,
        "password": PASSWORD,
        "sub": sub,
        "email": f"{username}@example.com",
        "given_name": username.title(),
        "family_name": "Tester",
        "groups": groups,
    }


ACCOUNTS = [
    account("olivia", "op-1001", ["everyone", "aep-onboarding"]),
    account("arthur", "op-1002", ["everyone", "aep-approvers"]),
    account("audrey", "op-1003", ["aep-auditors"]),
    account("morgan", "op-1004", ["aep-approvers", "aep-auditors"]),
    account("lena", "op-1005", ["aep-onboarding"]),
    account("mallory", "op-1006", ["aep-onboarding"]),
    account("nina", "op-1007", ["everyone", "aep-readers"]),
    account("sam", "op-1008", ["aep-approvers"]),
    account("carl", "op-1009", ["aep-auditors"]),
]
# What the home page says to each role (base.html's navigation and home.html's cards).
ROLE_SIGNS = {
    "olivia": ("Onboarding staff", "Follow the changes you proposed."),
    "arthur": ("Approvers", "Review pending requests against the current remote document."),
    "audrey": ("Auditors", "Who changed what, when, why, and whether it worked."),
}


@dataclass
class SingleSignOn:
    op: OpenIDProvider
    server: E2EServer


@pytest.fixture(scope="module")
def sso() -> Iterator[SingleSignOn]:
    port = free_port()  # the provider must know flowadmin's redirect URI before flowadmin starts
    with OpenIDProvider(app_urls=[f"http://{HOST}:{port}"], accounts=ACCOUNTS, name=PROVIDER) as op:
        environment = op.app_environment(OIDC_ROLE_MAP=ROLE_MAP, LOCAL_LOGIN="superusers")
        with E2EServer(port=port, extra_env=environment) as server:
            REPORTED_LOGS["flowadmin SSO server log (tail)"] = server.log_tail
            REPORTED_LOGS["OpenID Provider log (tail)"] = op.log_tail
            try:
                yield SingleSignOn(op=op, server=server)
            finally:
                REPORTED_LOGS.pop("flowadmin SSO server log (tail)", None)
                REPORTED_LOGS.pop("OpenID Provider log (tail)", None)


@pytest.fixture
def page(new_context, sso: SingleSignOn) -> Page:
    return new_context(base_url=sso.server.url).new_page()


def start_sign_in(page: Page) -> None:
    page.goto(LOGIN_PATH)
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()


def sign_in_at_provider(page: Page, username: str, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Sign in to the test identity provider")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sso_sign_in(page: Page, username: str) -> None:
    """From flowadmin's login page through the provider's, as a person would."""
    start_sign_in(page)
    sign_in_at_provider(page, username)


def sso_log_out(page: Page, server: E2EServer) -> None:
    """flowadmin's Log out, then the provider's confirmation, back to flowadmin's login page."""
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign out of the test identity provider?")).to_be_visible()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(f"{server.url}{LOGIN_PATH}")


def expect_signed_out(page: Page, server: E2EServer) -> None:
    expect(page.locator(".whoami")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}{LOGIN_PATH}?next=/") + "$"))


def test_the_login_page_offers_the_provider_first_and_a_password_only_to_administrators(page, sso):
    page.goto(LOGIN_PATH)

    sign_in = page.get_by_role("link", name=f"Sign in with {PROVIDER}")
    expect(sign_in).to_be_focused()  # the first thing to press
    expect(page.get_by_role("heading", level=2)).to_have_text("Administrators: log in with a password")
    button_first = page.evaluate(
        "() => !!(document.querySelector('.sso-start').compareDocumentPosition("
        "document.querySelector('#id_username')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert button_first
    assert_no_serious_a11y_violations(page)


@pytest.mark.parametrize("username", list(ROLE_SIGNS))
def test_signing_in_through_the_provider_lands_on_the_dashboard_with_the_mapped_role(page, sso, username):
    role, home_text = ROLE_SIGNS[username]
    sso_sign_in(page, username)

    expect(page).to_have_url(f"{sso.server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {username}")
    expect(page.locator(".whoami .username")).to_have_text(username)
    expect(page.locator(".whoami .roles")).to_have_text(role)
    expect(page.locator("main")).to_contain_text(home_text)
    audit_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")
    expect(audit_link).to_have_count(1 if role == "Auditors" else 0)


def test_a_sign_in_goes_back_to_the_page_that_asked_for_it(page, sso):
    page.goto("/changes/")
    expect(page).to_have_url(re.compile(re.escape(f"{sso.server.url}{LOGIN_PATH}?next=/changes/")))
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    sign_in_at_provider(page, "carl")

    expect(page).to_have_url(f"{sso.server.url}/changes/")
    expect(page.locator(".whoami .username")).to_have_text("carl")


def test_a_group_removed_at_the_provider_removes_the_role_at_the_next_sign_in(page, sso):
    sso_sign_in(page, "morgan")
    roles = page.locator(".whoami .roles")
    expect(roles).to_contain_text("Approvers")
    expect(roles).to_contain_text("Auditors")
    expect(page.get_by_role("link", name="Audit log").first).to_be_visible()
    sso_log_out(page, sso.server)

    sso.op.put_account("morgan", groups=["aep-approvers"])
    sso_sign_in(page, "morgan")

    expect(page.locator(".whoami .username")).to_have_text("morgan")
    expect(roles).to_have_text("Approvers")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    assert page.request.get("/audit/").status == 403  # with her cookies, without a console error


def test_logout_ends_the_session_here_and_at_the_provider(page, sso):
    sso_sign_in(page, "lena")
    expect(page.locator(".whoami .username")).to_have_text("lena")

    sso_log_out(page, sso.server)

    expect_signed_out(page, sso.server)
    # The provider's session ended too: signing in asks for the password again.
    start_sign_in(page)
    expect(page.get_by_role("heading", name="Sign in to the test identity provider")).to_be_visible()


@pytest.mark.parametrize(
    ("mode", "message"),
    [("tampered", UNVERIFIED), ("wrong-key", UNVERIFIED), ("expired", EXPIRED)],
)
def test_a_spoiled_id_token_is_refused_with_a_message_and_no_session(page, sso, mode, message):
    # The spoiled token claims every role: none may come of it.
    sso.op.next_id_token(mode, groups=ALL_ROLE_GROUPS)
    sso_sign_in(page, "mallory")

    expect(page).to_have_url(f"{sso.server.url}{LOGIN_PATH}")
    expect(page.get_by_role("alert")).to_have_text(message.format(provider=PROVIDER))
    expect_signed_out(page, sso.server)

    # The same sign-in with a sound token works (still signed in at the provider: no password asked).
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    expect(page.locator(".whoami .username")).to_have_text("mallory")
    expect(page.locator(".whoami .roles")).to_have_text("Onboarding staff")


def test_a_user_without_a_mapped_group_gets_the_no_role_page_and_no_session(page, sso):
    sso_sign_in(page, "nina")

    expect(page).to_have_url(f"{sso.server.url}{NO_ROLE_PATH}")
    expect(page.get_by_role("heading", level=1)).to_have_text("No role in flowadmin")
    expect(page.locator(".sso-username")).to_have_text("nina")
    expect(page.locator(".sso-groups")).to_have_text("everyone, aep-readers")
    expect(page.locator(".no-role-groups")).to_contain_text("Approvers: aep-approvers")
    assert_no_serious_a11y_violations(page)
    expect_signed_out(page, sso.server)


def test_cancelling_at_the_provider_says_so_on_the_login_page(page, sso):
    start_sign_in(page)
    page.get_by_role("button", name="Cancel").click()

    expect(page).to_have_url(f"{sso.server.url}{LOGIN_PATH}")
    detail = "The user cancelled the sign-in"
    expect(page.get_by_role("alert")).to_have_text(PROVIDER_SAID.format(provider=PROVIDER, detail=detail))
    expect_signed_out(page, sso.server)


def test_a_person_recreated_at_the_provider_under_the_same_name_gets_a_new_account(page, sso):
    sso_sign_in(page, "sam")
    expect(page.locator(".whoami .roles")).to_have_text("Approvers")
    sso_log_out(page, sso.server)

    sso.op.put_account("sam", sub="op-2008", groups=["aep-onboarding"])  # a new person, same username
    sso_sign_in(page, "sam")

    expect(page.locator(".whoami .username")).to_have_text("sam-2")
    expect(page.locator(".whoami .roles")).to_have_text("Onboarding staff")


def test_beside_single_sign_on_only_administrators_log_in_with_a_password(page, sso):
    username, password = BREAK_GLASS
    sso.server.manage(
        "shell", "-c",
        f"from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({username!r}, 'admin@example.com', {password!r})",
    )  # fmt: skip
    page.goto(LOGIN_PATH)
    page.get_by_label("Username").fill("staff")  # a demo user, not a superuser
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Your username and password didn't match. Please try again.")

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".whoami .username")).to_have_text(username)
    page.get_by_role("button", name="Log out").click()  # a password session: no provider to sign out of
    expect(page).to_have_url(f"{sso.server.url}{LOGIN_PATH}")


def test_the_client_secret_appears_in_no_log_and_no_page(page, sso):
    sso_sign_in(page, "olivia")
    expect(page.locator(".whoami .username")).to_have_text("olivia")

    assert sso.op.client_secret not in page.content()
    assert sso.op.client_secret not in sso.server.log_path.read_text(errors="replace")
