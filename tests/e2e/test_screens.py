"""Checks every main screen gets, for each role that sees it (the list is in screens.py)."""

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import VIEWPORTS, assert_browser_clean
from .helpers import (
    LOGIN_PATH,
    assert_no_horizontal_scroll,
    assert_readable_and_steady,
    assert_tables_fit,
    login,
    logout,
)
from .screens import case_id, screen_cases

pytestmark = pytest.mark.e2e

CASES = screen_cases()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_screen_fits_phone_and_desktop_widths_and_has_no_serious_a11y_violations_at_either(
    page, context, browser_log, screen_data, case
):
    """One sign-in per case: the screen opens at phone width, then the same page is widened to desktop."""
    screen, role = case
    page.set_viewport_size(VIEWPORTS["phone"])
    screen.open(page, role, screen_data)

    for name in ("phone", "desktop"):
        page.set_viewport_size(VIEWPORTS[name])
        assert_no_horizontal_scroll(page)
        assert_tables_fit(page)
        expect(page.locator(".topbar .brand")).to_be_in_viewport()
        expect(page.locator(".topbar .badge")).to_be_in_viewport()
        if role != "anonymous":
            expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
        assert_readable_and_steady(page)
        assert_no_serious_a11y_violations(page)
    assert_browser_clean(context, browser_log)


def test_signing_in_and_out_logs_no_console_errors_or_csp_violations(page, context, browser_log):
    page.goto(LOGIN_PATH)
    page.get_by_label("Username").fill("someone")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    login(page, "staff")
    page.goto("/")
    logout(page)

    assert_browser_clean(context, browser_log)
