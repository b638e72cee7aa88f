"""Steps that many journeys share: logging in and out as a demo user, layout checks."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from flowadmin.accounts import demo

DEMO_PASSWORD = "flowadmin-demo"  # what seed_demo sets (settings.DEMO_PASSWORD's default)
# seed_demo's users, each with the roles the page header lists: {"staff": "Onboarding staff", ...}
DEMO_USERS = {username: ", ".join(groups) for username, groups in demo.DEMO_USERS.items()}
ROLES = ("staff", "approver", "auditor")  # one demo user per role (approver2 is a second approver)
LOGIN_PATH = "/accounts/login/"


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login page, as a person would, and wait for the signed-in layout."""
    page.goto(LOGIN_PATH)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".whoami .username")).to_have_text(username)


def logout(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def horizontal_overflow(page: Page) -> dict:
    """How wide the document is against the viewport; wider means a horizontal scrollbar."""
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            const wide = [...document.body.querySelectorAll("*")]
                .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
                .slice(0, 5)
                .map((el) => el.tagName.toLowerCase() + (el.className ? "." + [...el.classList].join(".") : ""));
            return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest: wide};
        }"""
    )


def assert_no_horizontal_scroll(page: Page) -> None:
    sizes = horizontal_overflow(page)
    assert sizes["scrollWidth"] <= sizes["clientWidth"], f"{page.url} scrolls sideways: {sizes}"
