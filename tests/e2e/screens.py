"""The product's main screens, for the checks every screen gets and for `make screenshots`.

Adding a screen here gives it, for each listed role: an axe check, a no-sideways-scroll check at
desktop and phone widths, a console/CSP check, and screenshots in docs/screenshots/.

Screens that show a change request or an audit event need one: once every sandbox is synced,
`prepare_screen_data(server)` makes them through the dashboard, in sandbox ``stage`` (the journeys
work in ``dev``), and returns the values the paths are formatted with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from .dashboard import (
    ACME_EVENTS_STREAM,
    ACME_LOYALTY,
    CRM_TO_AEP,
    GENERIC_STREAMING_AEP,
    REST_STORAGE_TO_AEP,
    Dashboard,
)
from .helpers import LOGIN_PATH, ROLES, login

ANONYMOUS = "anonymous"
ALL_ROLES = ROLES
SANDBOX = "stage"
# Not a demo user: failed logins count against a username (login throttling), and the demo users
# must stay able to log in for the rest of the session.
UNKNOWN_USERNAME = "someone"


def _fail_login(page: Page) -> None:
    page.get_by_label("Username").fill(UNKNOWN_USERNAME)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def _preview_a_new_id(page: Page) -> None:
    name, spec_id = ACME_EVENTS_STREAM
    page.get_by_role("button", name=f"Add {name}").click()
    expect(page.locator("#preview")).to_contain_text(spec_id)
    expect(page.locator("#curl-command")).to_be_visible()


def _remote_check_done(page: Page) -> None:
    expect(page.locator("#remote-check")).to_contain_text("applies as reviewed")


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # may name values of prepare_screen_data: "/changes/{pending}/"
    roles: tuple[str, ...]  # demo usernames, or ANONYMOUS
    heading: str  # the <h1>, once the screen is ready
    then: Callable[[Page], None] | None = None  # steps after opening the path (e.g. submit a form)

    def open(self, page: Page, role: str, data: dict | None = None) -> None:
        if role != ANONYMOUS:
            login(page, role)
        data = data or {}
        page.goto(self.path.format(**data))
        if self.then is not None:
            self.then(page)
            page.evaluate("window.scrollTo(0, 0)")  # the steps may have scrolled to what they used
        expect(page.locator("main h1")).to_contain_text(self.heading.format(role=role, **data))


SCREENS = (
    Screen("login", LOGIN_PATH, (ANONYMOUS,), "Log in"),
    Screen("login-error", LOGIN_PATH, (ANONYMOUS,), "Log in", then=_fail_login),
    Screen("home", "/", ALL_ROLES, "Welcome, {role}"),
    Screen("sandboxes", "/sandboxes/", ALL_ROLES, "Sandboxes"),
    Screen("flowspecs", f"/sandboxes/{SANDBOX}/flowspecs/", ALL_ROLES, "Flow specs of Staging"),
    Screen("flowspec", f"/sandboxes/{SANDBOX}/flowspecs/{REST_STORAGE_TO_AEP}/", ALL_ROLES, "RestStorageToAEP"),
    Screen(
        "edit",
        f"/sandboxes/{SANDBOX}/flowspecs/{CRM_TO_AEP}/edit/",
        ("staff",),
        "Propose a change to CRMToAEP",
        then=_preview_a_new_id,
    ),
    Screen("changes", "/changes/", ALL_ROLES, "Change requests"),
    Screen("change", "/changes/{pending}/", ALL_ROLES, "Change request #{pending}", then=_remote_check_done),
    Screen("rollouts", "/rollouts/", ALL_ROLES, "Rollouts"),
    Screen("drift", f"/flowspecs/{GENERIC_STREAMING_AEP}/drift/", ("staff",), "GenericStreamingAEP across sandboxes"),
    Screen(
        "onboard",
        f"/onboard/?sandbox={SANDBOX}&connection_spec_id={ACME_LOYALTY[1]}",
        ("staff",),
        "Onboard a source",
    ),
    Screen("freezes", "/freezes/", ("approver",), "Change freezes"),
    Screen("tasks", "/tasks/", ("approver",), "Background tasks"),
    Screen("audit", "/audit/", ("auditor",), "Audit log"),
    Screen("audit-event", "/audit/{applied_event}/", ("auditor",), "Audit event #{applied_event}"),
)


def screen_cases() -> list[tuple[Screen, str]]:
    return [(screen, role) for screen in SCREENS for role in screen.roles]


def case_id(case: tuple[Screen, str]) -> str:
    screen, role = case
    return f"{screen.name}-{role}"


def prepare_screen_data(server) -> dict:
    """In the synced ``stage``: an applied change request (RestStorageToAEP gets a second version) and a
    pending one (GenericStreamingAEP). Returns ``{"applied", "pending", "applied_event"}``."""
    staff, approver, auditor = (Dashboard(server.url, name) for name in ("staff", "approver", "auditor"))
    try:
        applied = staff.propose(
            SANDBOX, REST_STORAGE_TO_AEP, add=[ACME_LOYALTY[1]], reason="Onboard the Acme Loyalty REST source."
        )
        approver.approve(applied)
        pending = staff.propose(
            SANDBOX, GENERIC_STREAMING_AEP, add=[ACME_EVENTS_STREAM[1]], reason="Onboard the Acme events stream."
        )
        [event] = auditor.audit_events(action="change.applied", change_request_id=str(applied))
    finally:
        for dashboard in (staff, approver, auditor):
            dashboard.close()
    return {"applied": applied, "pending": pending, "applied_event": event["seq"]}
