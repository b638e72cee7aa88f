"""The three roles' journeys, each from the login page, as one chained story in ``dev``:

    1. staff find GenericStreamingAEP by one of its connection spec ids and propose a new source,
       keyboard only on the edit page, watching the live preview (no page reload);
    2. staff cannot approve their own request: no button, and a forged POST is refused;
    3. an approver sees it counted in the navigation, reviews the diff and the remote check,
       approves with the keyboard, and the flow spec shows the new id and a new version;
    4. an auditor finds the events by the connection spec id, opens one, finds it in both exports.

Staff's refusal comes before the approval, while the request is still pending: that is when
approving it would change something. The steps share ``story`` (module scope); a step whose
predecessor failed is skipped rather than failing for a reason that is not its own.
GenericStreamingAEP in ``dev`` and the Acme Events Stream connection spec are this module's own:
the screens work in ``stage``, the rollout journey on CRMToAEP with Zoho CRM.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Locator, Page, expect

from flowadmin.changes.policy import FOUR_EYES

from .a11y import assert_no_serious_a11y_violations
from .dashboard import ACME_EVENTS_STREAM, GENERIC_STREAMING_AEP, Dashboard
from .helpers import login

pytestmark = pytest.mark.e2e

BRAZE_CURRENTS = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"  # one of GenericStreamingAEP's source connection specs
NEW_NAME, NEW_ID = ACME_EVENTS_STREAM
SPEC_PATH = f"/data/foundation/flowservice/flowSpecs/{GENERIC_STREAMING_AEP}"
REASON = "Onboard the Acme events stream in dev."
NOT_A_UUID = "not-a-uuid"
MARKER = "set on the edit page; gone if the page reloads"
TAB_LIMIT = 60  # more Tab presses than any of these pages has stops


@pytest.fixture(scope="module")
def story() -> SimpleNamespace:
    return SimpleNamespace(change_request=None, applied=False)


def needs(value, step: str):
    if not value:
        pytest.skip(f"needs step {step} of this story, which did not complete")
    return value


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would; fail if it never does."""
    for _ in range(TAB_LIMIT):
        if target.evaluate("(element) => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
    raise AssertionError(f"{TAB_LIMIT} presses of Tab never reached {target}; the focus is on {focused}")


def put_statuses(emulator_api) -> list[int]:
    return [entry["status"] for entry in emulator_api.log(method="PUT", sandbox="dev", path=SPEC_PATH)]


def test_1_staff_find_the_flow_spec_by_a_connection_spec_id_and_propose_a_source_with_the_keyboard(
    page, server, synced, story
):
    login(page, "staff")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sandboxes").click()
    page.get_by_role("link", name="Development", exact=True).click()
    expect(page.locator("main h1")).to_contain_text("Flow specs of Development")

    page.get_by_label("Search by name, a source's name, or an id (8 characters or more)").fill(BRAZE_CURRENTS)
    results = page.locator("#flowspec-results")
    expect(results).to_contain_text(f"1 flow spec matching “{BRAZE_CURRENTS}”")
    expect(results.locator("tbody tr")).to_have_count(1)
    results.get_by_role("link", name="GenericStreamingAEP").click()
    expect(page.locator("main h1")).to_have_text("GenericStreamingAEP")
    expect(page.locator("#spec-id")).to_have_text(GENERIC_STREAMING_AEP)
    page.get_by_role("link", name="Propose change").click()
    expect(page.locator("main h1")).to_contain_text("Propose a change to GenericStreamingAEP")
    edit_url = page.url
    page.wait_for_load_state()  # its scripts run: before them, "Add" submits the form (the page without JavaScript)
    page.evaluate("(marker) => { window.journeyMarker = marker; }", MARKER)
    ids = page.get_by_label("Source connection spec ids")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Nothing changes yet")

    # Keyboard only from here: Tab to the list, pick the new source by its name, type a bad line.
    tab_to(page, ids)
    tab_to(page, page.get_by_role("button", name=f"Add {NEW_NAME}"))
    page.keyboard.press("Enter")
    expect(ids).to_be_focused()
    expect(preview.locator(".connection-specs").first).to_contain_text(f"{NEW_ID} {NEW_NAME}")
    expect(preview.locator(".diff").first.locator(".add").filter(has_text=NEW_ID)).to_have_count(1)
    expect(page.locator("#curl-command")).to_contain_text(NEW_ID)

    page.keyboard.type(NOT_A_UUID)  # on line 7: five ids, the picked one, then this
    expect(preview.locator(".line-problems")).to_contain_text(f"Line 7: “{NOT_A_UUID}” is not a UUID")
    expect(page.locator("#curl-command")).to_have_count(0)  # nothing to send while a line is wrong
    for _ in NOT_A_UUID:
        page.keyboard.press("Backspace")
    expect(preview.locator(".line-problems")).to_have_count(0)
    expect(page.locator("#curl-command")).to_contain_text(NEW_ID)
    assert_no_serious_a11y_violations(page)

    # The preview changed in place: same document, same URL.
    assert page.evaluate("() => window.journeyMarker") == MARKER
    assert page.url == edit_url

    tab_to(page, page.get_by_label("Reason"))
    page.keyboard.type(REASON)
    tab_to(page, page.get_by_role("button", name="Submit for review"))
    page.keyboard.press("Enter")

    expect(page.locator("main h1")).to_contain_text(re.compile(r"Change request #\d+ pending"))
    pk = int(re.search(r"/changes/(\d+)/$", page.url).group(1))
    expect(page.locator(".messages")).to_contain_text(f"Change request #{pk} was submitted for review.")
    expect(page.locator("#ids-heading + h3 + ul")).to_contain_text(NEW_ID)
    story.change_request = pk


def test_2_staff_cannot_approve_their_own_request_by_button_or_by_a_forged_post(page, server, emulator_api, story):
    pk = needs(story.change_request, "1")
    approver = Dashboard(server.url, "approver")
    digest = re.search(r'name="digest" value="([^"]+)"', approver.get(f"/changes/{pk}/").text).group(1)
    approver.close()
    puts_before = put_statuses(emulator_api)

    login(page, "staff")
    page.goto(f"/changes/{pk}/")
    expect(page.locator("main h1")).to_contain_text(f"Change request #{pk} pending")
    expect(page.get_by_role("button", name="Approve and apply")).to_have_count(0)
    expect(page.get_by_text(FOUR_EYES)).to_be_visible()

    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        f"/changes/{pk}/approve/", form={"csrfmiddlewaretoken": token, "digest": digest}, max_redirects=0
    )
    assert response.status == 403
    assert FOUR_EYES in html.unescape(response.text())

    page.reload()
    expect(page.locator("main h1")).to_contain_text(f"Change request #{pk} pending")
    assert put_statuses(emulator_api) == puts_before
    auditor = Dashboard(server.url, "auditor")
    actions = [event["action"] for event in auditor.audit_events(change_request_id=str(pk))]
    auditor.close()
    assert actions == ["change.approved", "change.proposed"], "the forged approval is refused, and audited"


def test_3_approver_sees_the_request_counted_reviews_it_and_approves_with_the_keyboard(
    page, server, emulator_api, story
):
    pk = needs(story.change_request, "1")
    puts_before = put_statuses(emulator_api)

    login(page, "approver")
    count = page.locator(".mainnav .count")
    expect(count).to_have_text(re.compile(r"^\d+$"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Change requests")).click()
    page.get_by_role("link", name="Awaiting me").click()
    rows = page.locator("main table tbody tr")
    expect(rows.filter(has=page.get_by_role("link", name=f"#{pk}", exact=True))).to_have_count(1)
    assert count.inner_text() == str(rows.count())  # the navigation counts what awaits this approver

    page.get_by_role("link", name=f"#{pk}", exact=True).click()
    expect(page.locator("main h1")).to_contain_text(f"Change request #{pk} pending")
    change = page.locator("#diff-heading").locator("..")
    expect(change.locator(".diff").first.locator(".add").filter(has_text=NEW_ID)).to_have_count(1)
    check = page.locator("#remote-check")
    expect(check).to_contain_text("applies as reviewed")
    expect(check).to_contain_text("The remote document is the request's base.")
    assert_no_serious_a11y_violations(page)

    tab_to(page, page.get_by_role("button", name="Approve and apply"))
    page.keyboard.press("Space")

    expect(page.locator("main h1")).to_contain_text(f"Change request #{pk} applied")
    expect(page.locator(".messages")).to_contain_text(f"Change request #{pk} was approved and applied")
    assert put_statuses(emulator_api)[len(puts_before) :] == [200]  # exactly one PUT, and it worked

    page.get_by_role("link", name="GenericStreamingAEP").first.click()
    expect(page.locator("main h1")).to_have_text("GenericStreamingAEP")
    expect(page.locator("#connections-heading ~ .connection-specs").first).to_contain_text(f"{NEW_ID} {NEW_NAME}")
    current = page.locator("#flowspec-versions tbody tr").first
    expect(current).to_contain_text("current")
    expect(current).to_contain_text(f"applied by flowadmin (change request #{pk})")
    expect(page.locator("#flowspec-versions .diff .add").filter(has_text=NEW_ID)).to_have_count(1)
    story.applied = True


def test_4_auditor_finds_the_events_by_the_connection_spec_id_and_in_both_exports(page, story):
    pk = needs(story.change_request, "1")
    needs(story.applied, "3")

    login(page, "auditor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    page.get_by_label("Search").fill(NEW_ID)
    expect(page).to_have_url(re.compile(rf"[?&]q={NEW_ID}"))
    results = page.locator("#audit-results")
    ours = results.locator("tbody tr").filter(has_text=f"#{pk}")
    for action in ("change.proposed", "change.applied"):
        expect(ours.filter(has_text=action)).to_have_count(1)
    applied = ours.filter(has_text="change.applied")
    seq = int(applied.locator("td").first.inner_text())

    with page.expect_download() as csv_download:
        results.get_by_role("link", name="Export CSV").click()
    with page.expect_download() as jsonl_download:
        results.get_by_role("link", name="Export JSON Lines").click()

    applied.get_by_role("link", name=str(seq), exact=True).click()
    expect(page.locator("main h1")).to_contain_text(f"Audit event #{seq} change.applied")
    expect(page.locator("#event-diff ~ .diff .add").filter(has_text=NEW_ID)).to_have_count(1)
    expect(page.get_by_role("link", name=f"#{pk}", exact=True)).to_be_visible()
    assert_no_serious_a11y_violations(page)

    assert csv_download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8"))))
    [row] = [row for row in rows if row["seq"] == str(seq)]
    assert (row["action"], row["change_request_id"], row["sandbox"]) == ("change.applied", str(pk), "dev")
    assert NEW_ID in row["patch"]

    assert jsonl_download.value.suggested_filename.endswith(".jsonl")
    lines = Path(jsonl_download.value.path()).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert records[0]["type"] == "export" and records[0]["complete"] is False  # the search filtered it
    events = [record for record in records if "type" not in record]  # typed lines are not events
    [event] = [event for event in events if event["seq"] == seq]
    assert (event["action"], event["change_request_id"], event["sandbox"]) == ("change.applied", pk, "dev")
    assert NEW_ID in json.dumps(event["patch"])
