"""Finding things by what people know them as: a flow spec by a source's name, a sandbox by its title, and
an audit search that keeps its rows while a word is still being typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import login

pytestmark = pytest.mark.e2e


def test_an_auditor_finds_a_flow_spec_by_a_source_name_and_types_into_the_audit_search(page, server, synced):
    login(page, "auditor")
    page.goto("/sandboxes/")
    page.get_by_label(re.compile("^Search by sandbox name")).fill("Amazon S3")
    expect(page).to_have_url(re.compile(r"q=Amazon"))
    staging = page.locator("#sandbox-table tbody tr").filter(has_text="Staging")
    staging.get_by_role("link", name=re.compile(r"\d+ matching")).click()
    expect(page.locator("#flowspec-results")).to_contain_text("CloudStorageToAEP")

    page.goto("/audit/")
    rows = page.locator("#audit-results tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="Staging (stage)").first).to_be_visible()
    before = rows.count()
    search = page.get_by_label("Search")
    with page.expect_response(lambda response: response.status == 204):
        search.press_sequentially("ǂǂ", delay=600)  # no event holds it; each pause outlasts the wait
    expect(rows).to_have_count(before)
    expect(page.get_by_text("No audit events match these filters.")).to_be_hidden()

    search.press("Enter")
    expect(page.get_by_text("No audit events match these filters.")).to_be_visible()


def test_leaving_an_answered_search_asks_nothing_more_so_a_click_on_export_downloads_at_once(page, server, synced):
    login(page, "auditor")
    page.goto("/audit/")
    search = page.get_by_label("Search")
    with page.expect_response(lambda response: "q=stage" in response.url and response.status == 200):
        search.fill("stage")
    expect(page).to_have_url(re.compile(r"q=stage"))
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/audit/" in request.url else None)

    with page.expect_download() as download:  # the click takes the focus from the search field
        page.locator("#audit-results").get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.wait_for_timeout(500)
    assert [url for url in asked if "/audit/export" not in url] == []

    # A search no event holds keeps the rows while typed, and leaving the field gives its final answer.
    search.focus()
    with page.expect_response(lambda response: response.status == 204):
        search.press_sequentially("ǂǂ", delay=600)
    expect(page.get_by_text("No audit events match these filters.")).to_be_hidden()
    search.press("Tab")
    expect(page.get_by_text("No audit events match these filters.")).to_be_visible()
