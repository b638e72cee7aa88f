"""Checks every main screen gets, for each role that sees it (the list is in screens.py)."""

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import VIEWPORTS, assert_browser_clean
from .helpers import LOGIN_PATH, assert_no_horizontal_scroll, login, logout
from .screens import case_id, screen_cases

pytestmark = pytest.mark.e2e

CASES = screen_cases()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_screen_has_no_serious_or_critical_a11y_violations(page, case):
    screen, role = case
    screen.open(page, role)

    assert_no_serious_a11y_violations(page)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_screen_fits_the_width_without_sideways_scrolling(new_context, case, viewport):
    screen, role = case
    page = new_context(viewport=VIEWPORTS[viewport]).new_page()
    screen.open(page, role)

    assert_no_horizontal_scroll(page)
    expect(page.locator(".topbar .brand")).to_be_in_viewport()
    expect(page.locator(".topbar .badge")).to_be_in_viewport()
    if role != "anonymous":
        expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()


def test_signing_in_and_out_logs_no_console_errors_or_csp_violations(page, context, browser_log):
    page.goto(LOGIN_PATH)
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    login(page, "staff")
    page.goto("/")
    logout(page)

    assert_browser_clean(context, browser_log)
