"""Nothing typed is lost when a session expires mid-edit or a page is reloaded, and Back and Forward on a
filtered list bring back both its rows and its fields."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .dashboard import GENERIC_STREAMING_AEP
from .helpers import DEMO_PASSWORD, login

pytestmark = pytest.mark.e2e

EDIT = f"/sandboxes/stage/flowspecs/{GENERIC_STREAMING_AEP}/edit/"
SOMETHING = "00000000-0000-4000-8000-0000000000ab"
REASON = "Typed before the session ran out."


def test_a_session_that_expires_mid_edit_goes_through_the_login_and_keeps_the_ids_and_the_reason(
    page, context, server, synced
):
    login(page, "staff")
    page.goto(EDIT)
    ids = page.get_by_label("Source connection spec ids")
    ids.press("Control+End")
    ids.type("\n" + SOMETHING)
    page.get_by_label("Reason").fill(REASON)
    expect(page.locator("#preview")).to_contain_text(SOMETHING)

    # The session ends (expired, or signed out elsewhere) while the page stays open.
    context.clear_cookies(name="sessionid")
    ids.type("\n")  # the next keystroke's live preview meets the expired session

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(re.escape(EDIT) + "$"))
    expect(page.get_by_role("status").filter(has_text="What you had typed here was kept")).to_be_visible()
    assert SOMETHING in page.get_by_label("Source connection spec ids").input_value()
    expect(page.get_by_label("Reason")).to_have_value(REASON)
    expect(page.locator("#preview")).to_contain_text(SOMETHING)


def test_a_reload_keeps_a_half_written_proposal_and_leaving_it_asks_first(page, server, synced):
    login(page, "staff")
    page.goto(EDIT)
    page.get_by_label("Reason").fill("Half written")
    page.reload()
    expect(page.get_by_label("Reason")).to_have_value("Half written")

    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(re.escape(EDIT) + "$"))


def test_the_live_preview_needs_no_preview_button_when_javascript_runs(page, server, synced):
    login(page, "staff")
    page.goto(EDIT)
    expect(page.get_by_role("button", name="Submit for review")).to_be_visible()
    expect(page.get_by_role("button", name="Preview", exact=True)).to_be_hidden()


def test_keystrokes_made_while_the_preview_is_being_replaced_still_get_their_preview(page, server, synced):
    login(page, "staff")
    page.goto(EDIT)
    ids = page.get_by_label("Source connection spec ids")
    problems = page.locator("#preview .line-problems")
    # As on a slow device: a new preview panel is set up (htmx's settle) well after it is shown.
    page.evaluate("() => { htmx.config.defaultSettleDelay = 1500; }")
    ids.press("Control+End")
    ids.type("\nx")
    expect(problems).to_contain_text("is not a UUID")

    ids.press("Backspace")  # the new panel is not set up yet
    ids.press("Backspace")
    expect(problems).to_have_count(0)


def test_a_refused_submit_opens_with_the_focus_on_what_to_fix(page, server, synced):
    login(page, "staff")
    page.goto(EDIT)
    page.get_by_role("button", name="Submit for review").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Reason")
    summary.get_by_role("link", name="Reason").click()
    expect(page.locator("#id_reason")).to_be_in_viewport()


def test_back_and_forward_on_the_audit_log_bring_back_its_rows_and_its_filters(page, server, synced):
    login(page, "auditor")
    page.goto("/audit/")
    search = page.get_by_label("Search")
    search.fill("dev")
    expect(page).to_have_url(re.compile(r"q=dev"))
    numbers = page.locator("#audit-results tbody tr td:first-child")
    expect(numbers.first).to_be_visible()
    first_rows = numbers.all_inner_texts()
    page.get_by_label("Outcome").select_option("failure")
    expect(page).to_have_url(re.compile(r"outcome=failure"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=dev(?!.*outcome=failure)"))
    expect(page.get_by_label("Search")).to_have_value("dev")
    expect(page.get_by_label("Outcome")).to_have_value("")
    expect(numbers).to_have_text(first_rows)

    # Back reloaded the page (htmx keeps no history cache); its scripts listen for Forward once loaded.
    page.wait_for_load_state()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"outcome=failure"))
    expect(page.get_by_label("Outcome")).to_have_value("failure")
    expect(page.get_by_label("Search")).to_have_value("dev")


@pytest.mark.parametrize(
    ("path", "label", "first", "second", "rows"),
    [
        (
            "/sandboxes/stage/flowspecs/",
            "Search by name, a source's name, or an id (8 characters or more)",
            "Streaming",
            "CRM",
            "#flowspec-results tbody tr",
        ),
        ("/sandboxes/", "Search by sandbox name or title", "stag", "prod", "#sandbox-table tbody tr"),
    ],
)
def test_back_and_forward_on_the_searched_lists_bring_back_their_rows_and_their_search(
    page, server, synced, path, label, first, second, rows
):
    login(page, "staff")
    page.goto(path)
    search = page.get_by_label(re.compile("^" + re.escape(label)))
    search.fill(first)
    expect(page).to_have_url(re.compile(f"q={first}"))
    shown = page.locator(rows).locator("> :first-child")  # names: "synced just now" can turn "1 minute ago"
    expect(shown.first).to_be_visible()
    first_rows = shown.all_inner_texts()
    search.fill(second)
    expect(page).to_have_url(re.compile(f"q={second}"))

    page.go_back()
    expect(page).to_have_url(re.compile(f"q={first}"))
    expect(search).to_have_value(first)
    expect(shown).to_have_text(first_rows)

    page.wait_for_load_state()  # as above
    page.go_forward()
    expect(page).to_have_url(re.compile(f"q={second}"))
    expect(search).to_have_value(second)


def _audit_numbers(page) -> list[str]:
    """The event numbers the whole audit log's first page shows."""
    page.goto("/audit/")
    return page.locator("#audit-results tbody tr td:first-child").all_inner_texts()


def test_a_search_typed_before_the_scripts_are_ready_still_filters_the_audit_log(page, server, synced):
    login(page, "auditor")
    unfiltered = _audit_numbers(page)
    held = []
    page.route("**/static/js/flowadmin*.js", lambda route: held.append(route))
    page.goto("/audit/", wait_until="commit")
    search = page.get_by_label("Search")
    search.fill("stage")
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bjs\b"))  # the scripts are still held back
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()

    expect(page).to_have_url(re.compile(r"[?&]q=stage(&|$)"))
    numbers = page.locator("#audit-results tbody tr td:first-child")
    searched = page.context.new_page()
    searched.goto("/audit/?q=stage")
    expected = searched.locator("#audit-results tbody tr td:first-child").all_inner_texts()
    assert expected and expected != unfiltered
    expect(numbers).to_have_text(expected)  # the rows the search asks for, not the whole log


def test_ids_typed_into_a_proposal_before_the_scripts_are_ready_get_their_live_preview(page, server, synced):
    login(page, "staff")
    held = []
    page.route("**/static/js/flowadmin*.js", lambda route: held.append(route))
    page.goto(EDIT, wait_until="commit")
    ids = page.get_by_label("Source connection spec ids")
    ids.press("Control+End")
    ids.type("\n" + SOMETHING)
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bjs\b"))  # the scripts are still held back
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()

    expect(page.locator("#preview")).to_contain_text(SOMETHING)
    assert SOMETHING in ids.input_value()
