"""In the browser, on a real server: an applied change is signed, and the auditor sees how far the log is verified."""

import re

import pytest
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .helpers import login

pytestmark = pytest.mark.e2e


def test_the_auditor_sees_the_log_verified_through_a_signed_checkpoint_and_the_last_full_verification(
    page, server, screen_data
):
    """screen_data applied a change: the server signed a checkpoint (the development key: DEBUG, no key set)."""
    login(page, "auditor")
    page.goto("/audit/")
    panel = page.locator("#audit-integrity")

    expect(panel).to_contain_text(re.compile(r"Verified through #\d+, signed checkpoint #\d+ at"))
    expect(panel).to_contain_text("Checkpoints are signed with a development key made on first use")
    expect(panel.get_by_role("alert")).to_have_count(0)

    server.manage("audit_verify")
    page.reload()

    expect(panel).to_contain_text(re.compile(r"Last full verification .+?: \d+ events, verified through\s+#\d+", re.S))
    assert_no_serious_a11y_violations(page)
