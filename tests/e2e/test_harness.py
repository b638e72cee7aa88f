"""The suite's own machinery works: the server serves its assets, the browser log and axe catch problems."""

import re

import pytest
import requests
from playwright.sync_api import expect

from .a11y import assert_no_serious_a11y_violations
from .browser import flush
from .helpers import LOGIN_PATH

pytestmark = pytest.mark.e2e


def test_healthz_answers_ok(page):
    response = page.request.get("/healthz")
    assert response.ok
    assert response.json() == {"status": "ok", "database": "ok"}


def test_server_serves_the_stylesheet_and_scripts_under_its_csp(page):
    loaded = []
    page.on("response", lambda response: loaded.append((response.url, response.status)))
    response = page.goto(LOGIN_PATH)

    assert "script-src 'self'" in response.headers["content-security-policy"]
    statics = {re.sub(r"^.*/static/", "", url): status for url, status in loaded if "/static/" in url}
    assert statics.get("css/flowadmin.css") == 200, statics
    assert statics.get("js/flowadmin.js") == 200, statics
    # The stylesheet is applied, not only fetched, and htmx is there.
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(15, 39, 71)")
    assert page.evaluate("() => typeof window.htmx") == "object"


@pytest.mark.allow_browser_errors
def test_browser_log_catches_csp_violations_console_errors_and_uncaught_errors(page, context, browser_log):
    page.goto(LOGIN_PATH)
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.head.append(script);
            console.error("deliberate console error");
            setTimeout(() => { throw new Error("deliberate uncaught error"); });
        }"""
    )
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve))")  # runs after the throwing timer
    flush(context)

    assert page.evaluate("() => window.inlineRan") is None
    assert [v["directive"] for v in browser_log.csp_violations] == ["script-src-elem"]
    assert any("deliberate console error" in text for text in browser_log.console_errors)
    assert any("deliberate uncaught error" in text for text in browser_log.page_errors)


def test_a11y_helper_lists_rule_impact_and_target_of_serious_violations(page):
    page.goto(LOGIN_PATH)
    assert_no_serious_a11y_violations(page)

    page.evaluate(
        "() => { const b = document.createElement('button'); b.id = 'nameless'; "
        "document.querySelector('main').append(b); }"
    )
    with pytest.raises(AssertionError, match=r"button-name \(critical\).*#nameless"):
        assert_no_serious_a11y_violations(page)


def test_emulator_api_injects_a_fault_and_reads_the_request_log(server, emulator_api):
    if requests.post(f"{emulator_api.url}/ims/token/v3", data={}, timeout=10).status_code == 404:
        pytest.skip("the embedded emulator does not serve /emulator/ims/token/v3 yet")
    sandboxes = "/data/foundation/sandbox-management/sandboxes"
    emulator_api.clear_log()
    assert emulator_api.log() == []

    rule = emulator_api.add_fault(action="respond", method="GET", path=sandboxes, status=503, shape="gateway", times=1)
    assert [fault["id"] for fault in emulator_api.faults()] == [rule["id"]]
    assert emulator_api.call("GET", sandboxes).status_code == 503
    assert emulator_api.call("GET", sandboxes).status_code == 200  # the rule was used up

    assert [(entry["method"], entry["path"], entry["status"]) for entry in emulator_api.log(method="GET")] == [
        ("GET", sandboxes, 503),
        ("GET", sandboxes, 200),
    ]
    emulator_api.clear_faults()
    assert emulator_api.faults() == []
