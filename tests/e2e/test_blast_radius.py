"""The blast radius of a removal in the browser: the live preview names the dataflows that use the
removed id, the author acknowledges them, and the approver sees them (read again) on the review page.

It works on GenericStreamingAEP in prod and Braze Currents, whose three dataflows (two enabled, one
disabled) come from the seed; the request is withdrawn at the end, so other journeys find the flow
spec free and unchanged.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .dashboard import GENERIC_STREAMING_AEP, Dashboard
from .helpers import login

pytestmark = pytest.mark.e2e

BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"


def test_the_preview_and_the_review_page_show_the_dataflows_a_removal_cuts_off(new_context, server, synced):
    page = new_context().new_page()
    login(page, "staff")
    page.goto(f"/sandboxes/prod/flowspecs/{GENERIC_STREAMING_AEP}/edit/")
    ids = page.locator("#id_source_connection_spec_ids")
    kept = [line for line in ids.input_value().splitlines() if line.strip() and line.strip() != BRAZE]
    ids.fill("\n".join(kept))

    preview = page.locator("#preview")
    expect(preview.locator("#impact-summary")).to_contain_text(
        "Removing Braze Currents affects 3 dataflows in prod (2 enabled)"
    )
    rows = preview.locator("table.impact-dataflows tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Braze Currents email events to AEP")  # the disabled one last
    expect(rows.nth(2)).to_contain_text("disabled")
    assert_no_serious_a11y_violations(page)

    page.get_by_label("Reason").fill("Braze Currents is replaced by the new event stream.")
    page.get_by_role("button", name=re.compile("^(Submit|Propose)")).click()
    expect(page.locator("#form-errors")).to_contain_text("I have checked these 3 dataflows")
    expect(page.get_by_label("Reason")).to_have_value("Braze Currents is replaced by the new event stream.")

    page.get_by_label("I have checked these 3 dataflows").check()
    page.get_by_role("button", name=re.compile("^(Submit|Propose)")).click()
    expect(page).to_have_url(re.compile(r"/changes/\d+/$"))
    pk = int(re.search(r"/changes/(\d+)/$", page.url).group(1))
    try:
        reviewer = new_context().new_page()
        login(reviewer, "approver")
        reviewer.goto(f"/changes/{pk}/")
        expect(reviewer.locator("#approvals-heading")).to_have_text("Approvals: 0 of 3")
        panel = reviewer.locator("#removal-impact")
        expect(panel.get_by_role("link", name="Refresh")).to_be_visible()  # read again as the page opened
        expect(panel).to_contain_text("Braze Currents web events to AEP")
        expect(panel).to_contain_text("Braze Currents mobile events to AEP")
        expect(panel).not_to_contain_text("since proposed")
        panel.get_by_role("link", name="Refresh").click()
        expect(panel.locator("#impact-summary")).to_contain_text("affects 3 dataflows in prod (2 enabled)")
        assert_no_serious_a11y_violations(reviewer)

        reviewer.goto("/changes/?show=all")
        expect(reviewer.locator(f"tr:has(a[href='/changes/{pk}/']) .impact-mark")).to_have_text("2 enabled dataflows")
    finally:
        staff = Dashboard(server.url, "staff")
        try:
            staff.post_form(f"/changes/{pk}/withdraw/", {}, form_page=f"/changes/{pk}/")
        finally:
            staff.close()
