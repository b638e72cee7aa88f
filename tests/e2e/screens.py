"""The product's main screens, for the checks every screen gets and for `make screenshots`.

Adding a screen here gives it, for each listed role: an axe check, a no-sideways-scroll check at
desktop and phone widths, a console/CSP check, and screenshots in docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from .helpers import DEMO_USERS, LOGIN_PATH, login

ANONYMOUS = "anonymous"
ALL_ROLES = tuple(DEMO_USERS)


def _fail_login(page: Page) -> None:
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    roles: tuple[str, ...]  # demo usernames, or ANONYMOUS
    heading: str  # the <h1>, once the screen is ready
    then: Callable[[Page], None] | None = None  # steps after opening the path (e.g. submit a form)

    def open(self, page: Page, role: str) -> None:
        if role != ANONYMOUS:
            login(page, role)
        page.goto(self.path)
        if self.then is not None:
            self.then(page)
        expect(page.locator("main h1")).to_contain_text(self.heading.format(role=role))


SCREENS = (
    Screen("login", LOGIN_PATH, (ANONYMOUS,), "Log in"),
    Screen("login-error", LOGIN_PATH, (ANONYMOUS,), "Log in", then=_fail_login),
    Screen("home", "/", ALL_ROLES, "Welcome, {role}"),
)


def screen_cases() -> list[tuple[Screen, str]]:
    return [(screen, role) for screen in SCREENS for role in screen.roles]


def case_id(case: tuple[Screen, str]) -> str:
    screen, role = case
    return f"{screen.name}-{role}"
