"""Onboarding a source in the browser: staff paste the id of a streaming source created after the last
sync, see it looked up with its facts and GenericStreamingAEP ranked first, tick dev and stage and submit
once; the approver approves the rollout and the worker applies it to both sandboxes.

It runs a server of its own (GenericStreamingAEP in dev and stage is used by other journeys of the
session server), synced once; the new connection spec is written into the emulator's dev and stage
with the same id, as a partner's source is, after that sync.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.fixtures.emulator import Emulator

from .a11y import assert_no_serious_a11y_violations
from .browser import PHONE
from .helpers import assert_no_horizontal_scroll, login
from .server import E2EServer

pytestmark = pytest.mark.e2e

GENERIC_STREAMING_AEP = "e77fde5a-22a8-11ed-861d-0242ac120002"
NEW_SOURCE = "c0ffee00-1234-4abc-8def-0123456789ab"
SPEC_PATH = f"/data/foundation/flowservice/flowSpecs/{GENERIC_STREAMING_AEP}"
CREATE_NEW_SOURCE = (
    "from flowadmin.emulator.models import ConnectionSpecDocument, RemoteSandbox; "
    "[ConnectionSpecDocument.objects.create(sandbox=RemoteSandbox.objects.get(name=name), "
    f"spec_id={NEW_SOURCE!r}, document={{'id': {NEW_SOURCE!r}, 'name': 'Acme Clickstream', "
    "'providerId': '521eee4d-8cbe-4906-bb48-fb6bd4450033', 'version': '1.0', "
    "'attributes': {'category': 'Analytics', 'isSource': True, 'frequency': 'streaming'}}) "
    "for name in ('dev', 'stage')]"
)


@pytest.fixture(scope="module")
def own_server() -> Iterator[E2EServer]:
    with E2EServer() as server:
        server.manage("sync_flowspecs")
        server.manage("shell", "-c", CREATE_NEW_SOURCE)
        yield server


def source_ids(api: Emulator, sandbox: str) -> list[str]:
    return api.call("GET", SPEC_PATH, sandbox=sandbox).json()["items"][0]["sourceConnectionSpecIds"]


def test_a_new_streaming_source_goes_into_generic_streaming_aep_in_dev_and_stage_in_one_submission(
    new_context, own_server
):
    staff = new_context(base_url=own_server.url).new_page()
    login(staff, "staff")
    staff.get_by_role("link", name="Onboard a source").click()
    expect(staff.locator("main h1")).to_have_text("Onboard a source")
    staff.get_by_label("Sandbox").select_option("dev")
    staff.get_by_label("Connection spec id").fill(f"  {NEW_SOURCE.upper()} ")
    staff.get_by_role("button", name="Look it up").click()

    expect(staff.locator("#source h2")).to_have_text("Acme Clickstream")
    expect(staff.locator("#source-looked-up")).to_contain_text("looked up in its Flow Service just now")
    expect(staff.locator("#source")).to_contain_text("Adobe streaming sources")
    expect(staff.locator("#source")).to_contain_text("Analytics")
    first = staff.locator("#suggestions tbody tr").first
    expect(first).to_contain_text("GenericStreamingAEP")
    expect(first).to_contain_text("best fit")
    expect(first).to_contain_text("already carries 2 Analytics sources")
    assert_no_serious_a11y_violations(staff)

    staff.get_by_label("Add to GenericStreamingAEP").check()
    expect(staff.locator("#onboard-sandbox-dev")).to_be_checked()
    staff.locator("#onboard-sandbox-stage").check()
    staff.get_by_label("Reason").fill("Acme Clickstream goes live in dev and stage")
    staff.get_by_role("button", name="Submit for review").click()

    expect(staff.locator("main h1")).to_contain_text(re.compile(r"Rollout #\d+ pending"))
    expect(staff.locator(".messages")).to_contain_text("GenericStreamingAEP in dev, stage, in this order")
    expect(staff.locator("#step-row-1")).to_contain_text("dev")
    expect(staff.locator("#step-row-2")).to_contain_text("stage")
    expect(staff.locator("#step-row-3")).to_have_count(0)
    rollout_url = staff.url

    approver = new_context(base_url=own_server.url).new_page()
    login(approver, "approver")
    approver.goto(rollout_url)
    approver.get_by_role("button", name="Approve", exact=True).click()
    expect(approver.locator("main h1")).to_contain_text("completed")
    for position in (1, 2):
        expect(approver.locator(f"#step-row-{position}")).to_contain_text("applied")

    # On a phone the ranked table scrolls inside its frame, not the page.
    phone = new_context(viewport=PHONE, base_url=own_server.url).new_page()
    login(phone, "staff")
    phone.goto(f"/onboard/?sandbox=dev&connection_spec_id={NEW_SOURCE}")
    expect(phone.locator("#source-attached")).to_contain_text("GenericStreamingAEP in dev, stage")
    assert_no_horizontal_scroll(phone)

    api = Emulator.at(own_server.url)
    try:
        assert NEW_SOURCE in source_ids(api, "dev") and NEW_SOURCE in source_ids(api, "stage")
        assert NEW_SOURCE not in source_ids(api, "prod")
    finally:
        api.close()
