"""An approver looks at the background tasks: the worker next to the server has been taking them."""

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import PHONE
from .helpers import horizontal_overflow, login

pytestmark = pytest.mark.e2e


def test_an_approver_sees_the_queue_the_schedules_and_that_tasks_finish(page, synced):
    login(page, "approver")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Background tasks").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Background tasks")
    figures = page.locator("#task-figures")
    expect(figures.locator("#tasks-queued")).to_have_text("0")  # the worker keeps the queue empty
    expect(page.locator("#schedules-heading + .table-wrap")).to_contain_text("flowadmin:changes.reconcile")
    expect(figures).not_to_contain_text("is a worker")
    assert_no_serious_a11y_violations(page)


def test_staff_have_no_link_to_it(page, synced):
    login(page, "staff")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Background tasks")).to_have_count(0)


def test_the_page_fits_a_phone(new_context, synced):
    page = new_context(viewport=PHONE).new_page()
    login(page, "approver")
    page.goto("/tasks/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Background tasks")
    overflow = horizontal_overflow(page)
    assert overflow["scrollWidth"] <= overflow["clientWidth"], overflow
