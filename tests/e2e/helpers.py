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
    """How wide the document is against the viewport; wider means a horizontal scrollbar. Measured once
    the page has loaded: its text can be there before its stylesheet is (a <pre> not yet told to scroll
    in its own box would be as wide as its longest line)."""
    page.wait_for_load_state("load")
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


def clipped_tables(page: Page) -> list[str]:
    """Tables wider than their frame (a column cut off, reachable only by scrolling the table sideways)."""
    page.wait_for_load_state("load")
    return page.evaluate(
        """() => [...document.querySelectorAll(".table-wrap")]
            .filter((wrap) => wrap.getClientRects().length && wrap.scrollWidth > wrap.clientWidth + 1)
            .map((wrap) => {
                const header = wrap.closest("section, main").querySelector("h1, h2");
                const name = header ? header.textContent.trim().slice(0, 40) : "a table";
                return `${name}: ${wrap.scrollWidth}px in ${wrap.clientWidth}px`;
            })"""
    )


def assert_tables_fit(page: Page) -> None:
    clipped = clipped_tables(page)
    assert not clipped, f"{page.url}: tables wider than their frame: {clipped}"


MIN_TEXT_PX = 12
MAX_LAYOUT_SHIFT = 0.1


def small_text(page: Page) -> list[str]:
    """Visible text set smaller than MIN_TEXT_PX (the element, its size and the start of its text)."""
    return page.evaluate(
        """(minimum) => {
            const found = [];
            for (const el of document.body.querySelectorAll("*")) {
                const own = [...el.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
                if (!own || !el.getClientRects().length) continue;
                const style = getComputedStyle(el);
                const unseen = el.closest(".visually-hidden, [hidden], dialog:not([open])");
                if (style.visibility === "hidden" || unseen) continue;
                const size = parseFloat(style.fontSize);
                const name = `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`;
                if (size < minimum) found.push(`${name} ${size}px: ${el.textContent.trim().slice(0, 30)}`);
            }
            return found.slice(0, 10);
        }""",
        MIN_TEXT_PX,
    )


def layout_shift(page: Page) -> float:
    """The page's layout shift so far, not caused by input (as Lighthouse's CLS sums it)."""
    return page.evaluate("() => window.__flowadminShift || 0")


def assert_readable_and_steady(page: Page) -> None:
    small = small_text(page)
    assert not small, f"{page.url}: text under {MIN_TEXT_PX}px: {small}"
    shift = layout_shift(page)
    if shift > MAX_LAYOUT_SHIFT:
        moves = page.evaluate("() => window.__flowadminShifts || []")
        raise AssertionError(
            f"{page.url}: the layout shifted by {shift:.3f} (at most {MAX_LAYOUT_SHIFT}); what moved: {moves}"
        )
