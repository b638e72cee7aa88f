"""Journeys around signing in and out, as each demo user."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import DEMO_PASSWORD, DEMO_USERS, LOGIN_PATH, login, logout

pytestmark = pytest.mark.e2e

LOGIN_ERROR = "Your username and password didn't match. Please try again."


@pytest.mark.parametrize("username", list(DEMO_USERS))
def test_each_demo_user_logs_in_and_sees_their_name_role_and_the_emulator_badge(page, server, username):
    login(page, username)

    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {username}")
    expect(page.locator(".whoami .username")).to_have_text(username)
    expect(page.locator(".whoami .roles")).to_have_text(DEMO_USERS[username])
    expect(page.locator(".topbar .badge")).to_have_text("Flow Service: local emulator")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_the_login_page_shows_the_emulator_badge_before_signing_in(page):
    page.goto(LOGIN_PATH)

    expect(page.locator(".topbar .badge")).to_have_text("Flow Service: local emulator")
    expect(page.locator(".whoami")).to_have_count(0)


def test_a_wrong_password_shows_the_error_and_keeps_the_username(page, server):
    page.goto(LOGIN_PATH)
    page.get_by_label("Username").fill("approver")
    page.get_by_label("Password").fill("wrong-" + DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text(LOGIN_ERROR)
    expect(page.get_by_label("Username")).to_have_value("approver")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page).to_have_url(f"{server.url}{LOGIN_PATH}")
    expect(page.locator(".whoami")).to_have_count(0)


def test_anonymous_access_to_home_redirects_to_login_and_back_after_signing_in(page, server):
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}{LOGIN_PATH}?next=/") + "$"))

    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator(".whoami .username")).to_have_text("auditor")


def test_logout_returns_to_the_login_page_and_ends_the_session(page, server):
    login(page, "staff")
    logout(page)

    expect(page).to_have_url(f"{server.url}{LOGIN_PATH}")
    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}{LOGIN_PATH}?next=/")))


def test_a_signed_in_user_opening_the_login_page_goes_home(page, server):
    login(page, "approver")
    page.goto(LOGIN_PATH)

    expect(page).to_have_url(f"{server.url}/")


def test_login_works_with_the_keyboard_only(page, server):
    page.goto(LOGIN_PATH)

    expect(page.get_by_label("Username")).to_be_focused()  # autofocus
    page.keyboard.type("staff")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator(".whoami .username")).to_have_text("staff")


def test_the_skip_link_is_the_first_tab_stop_and_leads_to_the_content(page, server):
    login(page, "staff")
    page.goto("/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/#main")
