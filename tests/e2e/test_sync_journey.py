"""Anyone signed in syncs every sandbox and watches the progress; a sandbox whose sync fails shows why.

The fault (500 on ``stage``'s connection spec listing) lives only for this test; at the end stage is
synced again without it, so the dashboard is left as the other journeys expect it.
"""

import re

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import VIEWPORTS
from .helpers import assert_no_horizontal_scroll, assert_readable_and_steady, assert_tables_fit, login
from .server import E2EServer

pytestmark = pytest.mark.e2e

CONNECTION_SPECS = "/data/foundation/flowservice/connectionSpecs"
FLOW_SPECS = "/data/foundation/flowservice/flowSpecs"
ACTIVE_SANDBOXES = ("dev", "prod", "stage")

# Runs of every sandbox in each state the progress panel shows, made straight in the server's database
# (a real run passes through them too fast to look at each): queued, listing, each sandbox queued, one
# retrying and one failed, finished with errors, done. Their ids are out of the way of real runs.
PANEL_RUN_IDS = range(990001, 990007)
PANEL_RUNS = f"""
from django.utils import timezone
from flowadmin.catalog.models import Sandbox, SyncRun, SyncRunSandbox
names = sorted(Sandbox.objects.filter(state="active").values_list("name", flat=True))
now = timezone.now()
error = "HTTP 500 from the Flow Service (GET {CONNECTION_SPECS}): Internal Error, try again later"
def make(pk, started, finished, states):
    run = SyncRun.objects.create(pk=pk, token=f"panel-{{pk}}", requested_by_username="staff",
                                 started_at=now if started else None, finished_at=now if finished else None)
    for name, state in zip(names, states):
        SyncRunSandbox.objects.create(run=run, sandbox_name=name, state=state, unchanged=12,
            error=error if state == "failed" else "", note="retrying after HTTP 503 (attempt 2 of 4)")
rest = len(names) - 2
make({PANEL_RUN_IDS[0]}, False, False, [])
make({PANEL_RUN_IDS[1]}, True, False, [])
make({PANEL_RUN_IDS[2]}, True, False, ["queued"] * len(names))
make({PANEL_RUN_IDS[3]}, True, False, ["running", "failed"] + ["queued"] * rest)
make({PANEL_RUN_IDS[4]}, True, True, ["succeeded", "failed"] + ["succeeded"] * rest)
make({PANEL_RUN_IDS[5]}, True, True, ["succeeded"] * len(names))
"""


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_syncing_every_sandbox_shows_progress_and_the_one_that_failed_next_to_those_that_succeeded(
    new_context, synced, emulator_api, width
):
    page = new_context(viewport=VIEWPORTS[width]).new_page()
    emulator_api.add_fault(action="respond", method="GET", path=CONNECTION_SPECS, sandbox="stage", status=500)
    # dev answers slowly, so the run is still going when its progress is first shown.
    emulator_api.add_fault(action="delay", method="GET", path=FLOW_SPECS, sandbox="dev", delay_ms=1500, times=1)

    login(page, "auditor")  # syncing needs no role
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sandboxes").click()
    # Loaded, its scripts run: a click before them posts without htmx (and works, on a page of its own).
    page.wait_for_url(re.compile(r"/sandboxes/$"))
    page.evaluate("() => { window.syncJourneyMarker = true; }")
    page.get_by_role("button", name="Sync now: all sandboxes").click()

    progress = page.locator("#sync-progress")
    expect(progress.get_by_role("progressbar")).to_be_visible()
    expect(progress).to_contain_text("You can keep using flowadmin meanwhile.")
    assert_no_serious_a11y_violations(page)

    expect(progress).to_contain_text("finished with errors")  # polled until the run ends
    expect(progress.get_by_role("progressbar")).to_have_count(0)
    expect(progress).to_contain_text("1 of 3 sandboxes failed.")
    items = progress.locator(".sync-items li")
    for name in ACTIVE_SANDBOXES:
        expected = "failed" if name == "stage" else "succeeded"
        expect(items.filter(has_text=f"{name}:")).to_contain_text(expected)
    expect(items.filter(has_text="stage:")).to_contain_text("Internal Error")

    table = page.locator("#sandbox-table")  # refreshed with the run's end, without a reload

    def row(title: str):
        return table.locator("tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))

    expect(row("Staging").locator(".badge-bad")).to_have_text("failed")
    expect(row("Staging")).to_contain_text("HTTP 500")
    for title in ("Development", "Production"):
        expect(row(title).locator(".badge-bad")).to_have_count(0)
    assert page.evaluate("() => window.syncJourneyMarker") is True
    assert_no_serious_a11y_violations(page)
    assert_no_horizontal_scroll(page)
    assert_tables_fit(page)
    assert_readable_and_steady(page)

    # Without the fault, stage syncs again and its error goes.
    emulator_api.clear_faults()
    row("Staging").get_by_role("button", name="Sync now: stage").click()
    expect(progress).to_contain_text("Sync of sandbox stage")
    expect(progress.locator(".sync-items li").filter(has_text="stage:")).to_contain_text("succeeded")
    expect(row("Staging").locator(".badge-bad")).to_have_count(0)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_progress_panel_keeps_its_height_from_queued_to_finished_so_the_table_below_stays_put(
    new_context, server: E2EServer, synced, width
):
    server.manage("shell", "-c", PANEL_RUNS)
    try:
        page = new_context(viewport=VIEWPORTS[width]).new_page()
        login(page, "auditor")
        heights, tables, texts = {}, {}, set()
        for pk in PANEL_RUN_IDS:
            page.goto(f"/sandboxes/sync/{pk}/")
            panel = page.locator("#sync-progress")
            expect(panel.get_by_role("heading", name="Sync of all sandboxes")).to_be_visible()
            texts.add(panel.inner_text())
            state = panel.locator("h2 ~ p, h2 ~ div").nth(1).inner_text()[:40]
            heights[state] = round(panel.bounding_box()["height"])
            tables[state] = round(page.locator("#sandbox-table").bounding_box()["y"])
        assert len(texts) == len(PANEL_RUN_IDS), texts  # each run showed a state of its own
        assert len(set(heights.values())) == 1, f"the panel's height changed with its state: {heights}"
        assert len(set(tables.values())) == 1, f"the table moved: {tables}"
        assert_no_horizontal_scroll(page)
    finally:
        server.manage(
            "shell",
            "-c",
            f"from flowadmin.catalog.models import SyncRun; "
            f"SyncRun.objects.filter(pk__in={list(PANEL_RUN_IDS)}).delete()",
        )
