"""The approval rule book in the browser: two approvers apply a production change, an approver approves
a change rebased onto a remote document that changed meanwhile, and a freeze refuses a plain approval
while emergency approvals pass it.

Each journey works on a flow spec and a connection spec no other journey touches: GenericStreamingAEP
in prod with Acme Events Stream, CloudStorageToAEP in dev with Data Lake, RestStorageToAEP in dev with
Acme Loyalty (its freeze over dev is ended before the journey ends).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .a11y import assert_no_serious_a11y_violations
from .dashboard import ACME_EVENTS_STREAM, ACME_LOYALTY, GENERIC_STREAMING_AEP, Dashboard
from .helpers import login

pytestmark = pytest.mark.e2e

FLOW_SPECS = "/data/foundation/flowservice/flowSpecs"
CLOUD_STORAGE_TO_AEP = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
REST_STORAGE_TO_AEP = "6499120c-0b15-42dc-936e-847ea3c24d72"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def puts(emulator_api, sandbox: str, spec_id: str) -> list[int]:
    return [
        entry["status"] for entry in emulator_api.log(method="PUT", sandbox=sandbox, path=f"{FLOW_SPECS}/{spec_id}")
    ]


def remote_document(emulator_api, sandbox: str, spec_id: str) -> dict:
    return emulator_api.call("GET", f"{FLOW_SPECS}/{spec_id}", sandbox=sandbox).json()["items"][0]


def propose(server, sandbox: str, spec_id: str, add: str, reason: str) -> int:
    staff = Dashboard(server.url, "staff")
    try:
        return staff.propose(sandbox, spec_id, add=[add], reason=reason)
    finally:
        staff.close()


def approve_in_page(page: Page, *, comment: str, button: str, production: bool, emergency: bool = False) -> None:
    page.locator("form.approve-form textarea[name=comment]").first.fill(comment)
    if emergency:
        page.get_by_label("Emergency: apply during the freeze").first.check()
    page.get_by_role("button", name=button, exact=True).click()
    if production:
        dialog = page.get_by_role("dialog", name="Approve a change to production?")
        expect(dialog).to_be_visible()
        assert_no_serious_a11y_violations(page)
        dialog.get_by_role("button", name=re.compile("^Yes, ")).click()


def test_two_approvers_apply_a_production_change_each_with_a_comment_and_a_confirmation(
    new_context, server, synced, emulator_api
):
    pk = propose(server, "prod", GENERIC_STREAMING_AEP, ACME_EVENTS_STREAM[1], "Acme Events goes live in prod.")
    before = puts(emulator_api, "prod", GENERIC_STREAMING_AEP)

    first = new_context().new_page()
    login(first, "approver")
    first.goto(f"/changes/{pk}/")
    expect(first.locator("#approvals-heading")).to_have_text("Approvals: 0 of 2")
    expect(first.locator("#remote-check")).to_contain_text("applies as reviewed")
    approve_in_page(first, comment="Checked the diff against prod.", button="Approve", production=True)
    expect(first.locator(".messages")).to_contain_text(f"Your approval of change request #{pk} was recorded: 1 of 2.")
    expect(first.locator("#approvals")).to_contain_text("approver")
    expect(first.locator("#approvals")).to_contain_text("Checked the diff against prod.")
    assert puts(emulator_api, "prod", GENERIC_STREAMING_AEP) == before, "nothing is sent after one approval"
    expect(first.locator("form.approve-form")).to_have_count(0)  # not twice

    second = new_context().new_page()
    login(second, "approver2")
    second.goto(f"/changes/{pk}/")
    expect(second.locator("#approvals-heading")).to_have_text("Approvals: 1 of 2")
    approve_in_page(second, comment="Second pair of eyes: fine.", button="Approve and apply", production=True)
    expect(second.locator("main h1")).to_contain_text(f"Change request #{pk} applied")
    expect(second.locator("#approvals-heading")).to_have_text("Approvals: 2 of 2")
    assert puts(emulator_api, "prod", GENERIC_STREAMING_AEP) == [*before, 200]
    assert (
        ACME_EVENTS_STREAM[1] in remote_document(emulator_api, "prod", GENERIC_STREAMING_AEP)["sourceConnectionSpecIds"]
    )


def test_an_approver_approves_a_change_rebased_onto_a_remote_that_changed_meanwhile(page, server, synced, emulator_api):
    pk = propose(server, "dev", CLOUD_STORAGE_TO_AEP, DATA_LAKE, "Data Lake as a batch source.")
    # Someone edits the flow spec in Adobe's console meanwhile: a field the change does not touch.
    changed = remote_document(emulator_api, "dev", CLOUD_STORAGE_TO_AEP)
    body = {
        key: value
        for key, value in changed.items()
        if key
        not in (
            "createdAt",
            "updatedAt",
            "createdBy",
            "updatedBy",
            "createdClient",
            "updatedClient",
            "sandboxId",
            "sandboxName",
            "imsOrgId",
            "etag",
            "_links",
        )
    }
    body["description"] = "Edited in the Adobe console."
    assert emulator_api.call("PUT", f"{FLOW_SPECS}/{CLOUD_STORAGE_TO_AEP}", sandbox="dev", json=body).status_code == 200

    login(page, "approver")
    page.goto(f"/changes/{pk}/")
    check = page.locator("#remote-check")
    expect(check).to_contain_text("remote changed — applies cleanly")
    expect(check).to_contain_text("The document you would approve")
    expect(check.locator("pre.diff[aria-label='Current remote to proposed']")).to_contain_text(DATA_LAKE)
    assert_no_serious_a11y_violations(page)
    check.get_by_role("button", name="Approve rebased").click()

    expect(page.locator(".messages")).to_contain_text(
        f"Change request #{pk} was rebased onto the current remote document"
    )
    expect(page.locator("main h1")).to_contain_text("applied")
    expect(page.locator("main")).to_contain_text(f"Rebased from change request #{pk}")
    after = remote_document(emulator_api, "dev", CLOUD_STORAGE_TO_AEP)
    assert after["description"] == "Edited in the Adobe console.", "the remote change survives the PUT"
    assert DATA_LAKE in after["sourceConnectionSpecIds"]


def test_a_freeze_refuses_a_plain_approval_and_emergency_approvals_pass_it(new_context, server, synced, emulator_api):
    pk = propose(server, "dev", REST_STORAGE_TO_AEP, ACME_LOYALTY[1], "Acme Loyalty before the holidays.")
    before = puts(emulator_api, "dev", REST_STORAGE_TO_AEP)

    manager = new_context().new_page()
    login(manager, "approver")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Freezes").click()
    manager.get_by_label("Sandboxes").select_option("dev")
    manager.get_by_label("Reason").fill("Holiday code freeze")
    manager.get_by_role("button", name="Declare the freeze").click()
    expect(manager.locator(".messages")).to_contain_text("was declared")
    expect(manager.locator(".mainnav .count-warn")).to_have_text("1")
    assert_no_serious_a11y_violations(manager)
    try:
        manager.goto(f"/changes/{pk}/")
        expect(manager.locator("#approvals")).to_contain_text("Holiday code freeze")
        approve_in_page(manager, comment="Looks right.", button="Approve", production=False)
        expect(manager.locator(".messages")).to_contain_text("is frozen until")
        expect(manager.locator(".messages")).to_contain_text("Holiday code freeze")
        approve_in_page(
            manager, comment="The partner launch cannot wait.", button="Approve", production=False, emergency=True
        )
        expect(manager.locator(".messages")).to_contain_text("recorded: 1 of 2")
        assert puts(emulator_api, "dev", REST_STORAGE_TO_AEP) == before

        other = new_context().new_page()
        login(other, "approver2")
        other.goto(f"/changes/{pk}/")
        expect(other.locator("#approvals")).to_contain_text("emergency")
        approve_in_page(
            other, comment="Confirmed with the partner.", button="Approve and apply", production=False, emergency=True
        )
        expect(other.locator("main h1")).to_contain_text("applied")
        assert puts(emulator_api, "dev", REST_STORAGE_TO_AEP) == [*before, 200]
    finally:
        manager.goto("/freezes/")
        manager.locator("#current-heading + .table-wrap").get_by_role("button", name="End now").first.click()
        expect(manager.locator(".messages")).to_contain_text("was ended")
