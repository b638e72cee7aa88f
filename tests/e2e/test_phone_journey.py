"""A change's whole day on a phone (390 px): staff propose with the preview's summary in sight while
typing, an approver approves it from the queue, an auditor finds it in the audit log with its exact
time. Every page on the way fits the width, keeps its tables to their frame, has no text under 12 px
and no layout shift; the console stays clean (checked for every context by the fixtures).

It runs a server of its own: the session server's flow specs in dev belong to the desktop journeys.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .browser import PHONE
from .dashboard import ACME_EVENTS_STREAM, CRM_TO_AEP
from .helpers import assert_no_horizontal_scroll, assert_readable_and_steady, assert_tables_fit, login
from .server import E2EServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_server() -> Iterator[E2EServer]:
    with E2EServer() as server:
        server.manage("sync_flowspecs")
        yield server


def fits(page: Page) -> None:
    assert_no_horizontal_scroll(page)
    assert_tables_fit(page)
    assert_readable_and_steady(page)


def phone(new_context, server: E2EServer, username: str) -> Page:
    page = new_context(base_url=server.url, viewport=PHONE).new_page()
    login(page, username)
    fits(page)
    return page


def test_a_change_proposed_approved_and_audited_on_a_phone(new_context, own_server):
    _name, new_id = ACME_EVENTS_STREAM
    staff = phone(new_context, own_server, "staff")
    staff.goto(f"/sandboxes/dev/flowspecs/{CRM_TO_AEP}/")
    fits(staff)
    staff.get_by_role("link", name="Propose change").first.click()
    expect(staff.locator("main h1")).to_contain_text("Propose a change to CRMToAEP")
    ids = staff.get_by_label("Source connection spec ids")
    ids.click()
    ids.press("End")
    ids.type(f"\n{new_id}", delay=5)
    summary = staff.locator("#preview-summary")
    expect(summary).to_contain_text("1 added")
    expect(summary).to_be_in_viewport()  # the preview itself is further down
    staff.get_by_label("Reason").fill("Acme events go live in dev.")
    fits(staff)
    staff.get_by_role("button", name="Submit for review").click()
    expect(staff.locator("main h1")).to_contain_text(re.compile(r"Change request #\d+ pending"))
    pk = int(re.search(r"#(\d+)", staff.locator("main h1").inner_text()).group(1))
    fits(staff)

    approver = phone(new_context, own_server, "approver")
    approver.goto("/changes/")
    row = approver.locator("main table tbody tr").filter(has=approver.get_by_role("link", name=f"#{pk}", exact=True))
    expect(row).to_have_count(1)
    expect(row.locator('td[data-label="Author"]')).to_be_visible()  # a card names its cells
    fits(approver)
    row.get_by_role("link", name=f"#{pk}", exact=True).click()
    expect(approver.locator("#remote-check")).to_contain_text("applies as reviewed")
    fits(approver)
    approver.get_by_role("button", name="Approve and apply").click()
    expect(approver.locator("main h1")).to_contain_text(f"Change request #{pk} applied")
    fits(approver)

    auditor = phone(new_context, own_server, "auditor")
    auditor.goto("/audit/")
    auditor.get_by_label("Search").fill(new_id[:8])
    applied = auditor.locator("#audit-results tbody tr").filter(has_text="change.applied")
    expect(applied).to_have_count(1)
    exact = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    expect(applied.locator('td[data-label="When"] time')).to_have_text(exact)
    detail = applied.locator('td[data-label="Detail"]')
    detail.scroll_into_view_if_needed()
    expect(detail).to_be_in_viewport(ratio=1)  # the whole detail, not cut at the side
    fits(auditor)
