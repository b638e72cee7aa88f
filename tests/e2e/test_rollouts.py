"""A rollout in the browser: staff roll a new source out to dev, stage and prod from the flow spec's page,
two approvers approve, a fault injected in stage stops it there, and Resume finishes it; a background worker
applies it while the page follows. Staff and the first approver work at desktop width, the second approver
on a phone (every page on the way fits it).

It works on CRMToAEP with the Zoho CRM connection spec, which no other journey touches, and creates its
own second approver.
"""

import re

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import PHONE
from .helpers import (
    DEMO_PASSWORD,
    assert_no_horizontal_scroll,
    assert_readable_and_steady,
    assert_tables_fit,
    login,
)

pytestmark = pytest.mark.e2e

CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
ZOHO_CRM = "04e0fcbb-195e-4cfb-9aca-741d3b84f761"
SPEC_PATH = f"/data/foundation/flowservice/flowSpecs/{CRM_TO_AEP}"
ORDER = ("dev", "stage", "prod")
SECOND_APPROVER = "approver-rollouts"
CREATE_SECOND_APPROVER = (
    "from django.contrib.auth import get_user_model; from django.contrib.auth.models import Group; "
    "from flowadmin.accounts.roles import APPROVERS_GROUP, ensure_roles; ensure_roles(); "
    f"user, _ = get_user_model().objects.get_or_create(username={SECOND_APPROVER!r}); "
    f"user.set_password({DEMO_PASSWORD!r}); user.save(); user.groups.add(Group.objects.get(name=APPROVERS_GROUP))"
)


@pytest.fixture(scope="module")
def second_approver(server) -> str:
    server.manage("shell", "-c", CREATE_SECOND_APPROVER)
    return SECOND_APPROVER


def fits(page) -> None:
    assert_no_horizontal_scroll(page)
    assert_tables_fit(page)
    assert_readable_and_steady(page)


def put_statuses(emulator_api, sandbox: str) -> list[int]:
    return [entry["status"] for entry in emulator_api.log(method="PUT", sandbox=sandbox, path=SPEC_PATH)]


def source_ids(emulator_api, sandbox: str) -> list[str]:
    response = emulator_api.call("GET", SPEC_PATH, sandbox=sandbox)
    return response.json()["items"][0]["sourceConnectionSpecIds"]


def test_a_rollout_stopped_by_a_fault_in_stage_is_resumed_to_the_end(
    new_context, server, synced, emulator_api, second_approver
):
    before = {name: put_statuses(emulator_api, name) for name in ORDER}

    # Staff propose it from the flow spec's page, watching the per-sandbox preview.
    staff = new_context().new_page()
    login(staff, "staff")
    staff.goto(f"/sandboxes/dev/flowspecs/{CRM_TO_AEP}/")
    staff.get_by_role("link", name="Roll out", exact=True).click()
    expect(staff.locator("main h1")).to_have_text("Roll out a change of CRMToAEP")
    staff.get_by_label("Connection spec ids to add").fill(ZOHO_CRM)
    plan = staff.locator("#plan")
    for place, name in enumerate(ORDER, start=1):
        expect(plan.locator(f"#plan-{name}")).to_contain_text(f"{place}. {name}")
        expect(plan.locator(f"#plan-{name} .badge-ok")).to_have_text("ready to roll out")
    expect(plan).to_contain_text("Zoho CRM")
    staff.get_by_label("Reason").fill("Zoho CRM goes live in every sandbox")
    assert_no_serious_a11y_violations(staff)
    staff.get_by_role("button", name="Submit for review").click()
    expect(staff.locator("main h1")).to_contain_text(re.compile(r"Rollout #\d+ pending"))
    rollout_url = staff.url
    expect(staff.get_by_role("button", name="Approve", exact=True)).to_have_count(0)  # never the author

    # A fault in stage: its next PUT is answered 503 (reads are not affected).
    emulator_api.add_fault(action="respond", method="PUT", path=SPEC_PATH, sandbox="stage", status=503, times=1)

    # The first approver sees each sandbox checked live, approves: dev applied, stopped at stage.
    approver = new_context().new_page()
    login(approver, "approver")
    approver.goto(rollout_url)
    for position in (1, 2, 3):
        expect(approver.locator(f"#check-{position}")).to_contain_text("still applies")
    assert_no_serious_a11y_violations(approver)
    # prod is among the steps: the approval carries a comment and is confirmed in a dialog.
    approver.get_by_label("Comment (required for a production sandbox)").fill("Checked each sandbox's diff.")
    approver.get_by_role("button", name="Approve", exact=True).click()
    dialog = approver.get_by_role("dialog", name="Approve a change to production?")
    expect(dialog).to_contain_text("prod")
    assert_no_serious_a11y_violations(approver)
    dialog.get_by_role("button", name="Yes, approve").click()
    expect(approver.locator("#rollout-stopped")).to_contain_text("Stopped at step 2 (stage).")
    expect(approver.locator("#step-row-1")).to_contain_text("applied")
    expect(approver.locator("#step-row-2")).to_contain_text("failed")
    expect(approver.locator("#step-row-3")).to_contain_text("pending")
    assert put_statuses(emulator_api, "dev")[len(before["dev"]) :] == [200]
    assert put_statuses(emulator_api, "stage")[len(before["stage"]) :] == [503]
    assert put_statuses(emulator_api, "prod")[len(before["prod"]) :] == []
    expect(approver.get_by_role("button", name="Approve", exact=True)).to_have_count(0)  # not twice

    # The second approver approves (prod needs two) and resumes.
    other = new_context(viewport=PHONE).new_page()
    login(other, second_approver)
    other.goto(rollout_url)
    fits(other)
    other.get_by_label("Comment (required for a production sandbox)").fill("Stage is fixed; prod diff checked.")
    other.get_by_role("button", name="Approve", exact=True).click()
    other.get_by_role("dialog").get_by_role("button", name="Yes, approve").click()
    expect(other.locator("#rollout-approvals")).to_contain_text("approver")
    expect(other.locator("#rollout-approvals")).to_contain_text(second_approver)
    expect(other.locator("#rollout-approvals")).to_contain_text("Stage is fixed; prod diff checked.")
    expect(other.locator("#rollout-stopped")).to_be_visible()
    fits(other)
    # prod answers slowly, so the page is seen while the worker applies it; it follows until the end.
    emulator_api.add_fault(action="delay", method="PUT", path=SPEC_PATH, sandbox="prod", delay_ms=2000, times=1)
    other.get_by_role("button", name="Resume").click()
    expect(other.locator(".messages")).to_contain_text("is being applied in the background")
    expect(other.locator("#rollout-applying")).to_contain_text("Being applied in the background")
    assert_no_serious_a11y_violations(other)
    expect(other.locator("main h1")).to_contain_text("completed")  # reloaded when the run ended
    expect(other.locator("#rollout-applying")).to_have_count(0)
    for position in (1, 2, 3):
        expect(other.locator(f"#step-row-{position}")).to_contain_text("applied")
    expect(other.locator("#events-heading + .table-wrap")).to_contain_text("rollout.completed")
    assert_no_serious_a11y_violations(other)
    fits(other)

    assert put_statuses(emulator_api, "dev")[len(before["dev"]) :] == [200]  # dev was not sent again
    assert put_statuses(emulator_api, "stage")[len(before["stage"]) :] == [503, 200]
    assert put_statuses(emulator_api, "prod")[len(before["prod"]) :] == [200]
    for name in ORDER:
        assert ZOHO_CRM in source_ids(emulator_api, name)

    # The drift view now shows the three sandboxes in line for this id.
    staff.goto(f"/flowspecs/{CRM_TO_AEP}/drift/")
    row = staff.locator("#drift tbody tr").filter(has_text=ZOHO_CRM)
    expect(row).to_contain_text("✓ present ✓ present ✓ present")
    assert_no_serious_a11y_violations(staff)
