"""Fixtures of the end-to-end suite: a real server, Debian's Chromium, contexts that watch for errors.

Plain Playwright sync API rather than pytest-playwright: the plugin's value is launching a
downloaded browser from command-line options, which does not apply here (one Chromium, fixed
arguments), and its session-wide ``page``/``browser`` fixtures would keep Playwright's event loop
alive for the whole test session, where Django's ORM refuses to run (SynchronousOnlyOperation).

Fixtures:
    server          session   E2EServer: ``.url``, ``.log_tail()``; demo users seeded
    browser         package   Chromium, closed when the e2e package is done
    new_context     function  factory: ``new_context(viewport=PHONE, base_url=None, ...)`` -> BrowserContext
                              on ``base_url`` (the session server's by default)
    context, page   function  one desktop context and its page; ``page.goto("/")`` works
    browser_log     function  BrowserLog of ``context`` (console errors, uncaught errors, CSP violations)
    emulator_api    function  Emulator on the server; faults cleared after the test
    synced          session   every sandbox synced once (``manage.py sync_flowspecs``): the catalog is filled
    screen_data     session   the change requests and audit event the screens show (screens.prepare_screen_data)

Every context is checked at teardown: a console error, an uncaught error or a CSP violation fails
the test unless it is marked ``@pytest.mark.allow_browser_errors``.
On failure the report carries the server log's tail, and a screenshot and the HTML of each open
page are saved under ``test-results/e2e/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.fixtures.emulator import Emulator

from .browser import DESKTOP, BrowserLog, assert_browser_clean, launch_chromium
from .screens import prepare_screen_data
from .server import REPO_ROOT, E2EServer

ARTIFACTS = REPO_ROOT / "test-results" / "e2e"
# A ceiling for auto-waiting on a busy 2-core machine; assertions pass as soon as they hold.
expect.set_options(timeout=15_000)
NAVIGATION_TIMEOUT_MS = 30_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_browser_errors: the test expects console errors or CSP violations (not checked at teardown)"
    )


def _is_e2e(item: pytest.Item) -> bool:
    return Path(__file__).parent in Path(item.path).parents


# Logs a failure report shows the tail of: name -> a function giving that tail (servers add theirs).
REPORTED_LOGS: dict[str, Callable[[], str]] = {}


@pytest.fixture(scope="session")
def server() -> Iterator[E2EServer]:
    with E2EServer() as running:
        REPORTED_LOGS["flowadmin server log (tail)"] = running.log_tail
        try:
            yield running
        finally:
            REPORTED_LOGS.pop("flowadmin server log (tail)", None)


@pytest.fixture(scope="session")
def synced(server: E2EServer) -> None:
    server.manage("sync_flowspecs")


@pytest.fixture(scope="session")
def screen_data(server: E2EServer, synced) -> dict:
    return prepare_screen_data(server)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(request: pytest.FixtureRequest, browser: Browser):
    """Factory of browser contexts on the server (or on ``base_url``), each watched by its own BrowserLog."""
    opened: list[tuple[BrowserContext, BrowserLog]] = []

    def make(*, viewport: dict | None = None, base_url: str | None = None, **options) -> BrowserContext:
        base_url = base_url or request.getfixturevalue("server").url
        context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, **options)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        log = BrowserLog()
        log.watch(context)
        context.browser_log = log  # so that tests with several contexts can read each one's log
        opened.append((context, log))
        return context

    make.opened = opened
    yield make
    check = request.node.get_closest_marker("allow_browser_errors") is None and not _failed(request.node)
    try:
        if check:
            for context, log in opened:
                assert_browser_clean(context, log)
    finally:
        for context, _log in opened:
            context.close()


@pytest.fixture
def context(new_context) -> BrowserContext:
    return new_context()


@pytest.fixture
def browser_log(context: BrowserContext) -> BrowserLog:
    return context.browser_log


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def emulator_api(server: E2EServer) -> Iterator[Emulator]:
    api = Emulator.at(server.url)
    try:
        yield api
    finally:
        try:
            if api.used:
                api.clear_faults()
        finally:
            api.close()


# --- failure reports -------------------------------------------------------------------------
_FAILED = pytest.StashKey[bool]()


def _failed(item: pytest.Item) -> bool:
    """Whether the test itself failed (its browser problems are then in the report, not a teardown error)."""
    return item.stash.get(_FAILED, False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if not _is_e2e(item) or not report.failed:
        return report
    item.stash[_FAILED] = True
    for name, tail in list(REPORTED_LOGS.items()):
        report.sections.append((name, tail()))
    factory = item.funcargs.get("new_context") if hasattr(item, "funcargs") else None
    if factory is not None and report.when == "call":
        saved = _save_pages(item.nodeid, [ctx for ctx, _log in factory.opened])
        problems = [p for _ctx, log in factory.opened for p in log.problems()]
        if saved or problems:
            report.sections.append(("browser", "\n".join([*problems, *(f"saved {path}" for path in saved)])))
    return report


def _save_pages(nodeid: str, contexts: list[BrowserContext]) -> list[Path]:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:120]
    saved = []
    for c_index, context in enumerate(contexts):
        for p_index, page in enumerate(context.pages):
            if page.is_closed():
                continue
            base = ARTIFACTS / f"{stem}-{c_index}-{p_index}"
            try:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{base}.png", full_page=True)
                Path(f"{base}.html").write_text(page.content())
                saved.append(Path(f"{base}.png"))
            except Exception:  # noqa: S112 - a crashed page leaves nothing to save; the failure itself is reported
                continue
    return saved
