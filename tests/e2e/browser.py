"""Debian's Chromium under Playwright, and a log of what the browser complains about.

Playwright's own browser builds are not used (they cannot be downloaded here); the suite drives
``/usr/bin/chromium``, which ``scripts/install-browser.sh`` installs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Playwright

CHROMIUM = Path(os.environ.get("FLOWADMIN_E2E_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium dials out at start-up, which this closed network
# refuses; QUIC, sync and component updates are more of the same.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
# Chromium asks every site for /favicon.ico on its own; base.html declares no icon yet, so that
# probe 404s. It is the browser's request, not the page's: not counted as a page error.
IGNORED_CONSOLE_ERROR_PATHS = ("/favicon.ico",)

# Runs in every document before the page's own scripts. Init scripts are not subject to the page's
# CSP, and the binding it reports to survives navigations (a window variable would not).
_REPORT_BINDING = "__flowadminE2eReport"
_CSP_LISTENER = f"""
// Layout shifts not caused by input, summed per document (window.__flowadminShift), as Lighthouse's CLS;
// window.__flowadminShifts says which elements moved, and how far, for a failure's message.
window.__flowadminShift = 0;
window.__flowadminShifts = [];
try {{
  const named = (node) => !node || !node.tagName ? String(node && node.nodeName) :
    node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") +
    (node.classList && node.classList.length ? "." + [...node.classList].join(".") : "");
  new PerformanceObserver((list) => {{
    for (const entry of list.getEntries()) {{
      if (entry.hadRecentInput) continue;
      window.__flowadminShift += entry.value;
      window.__flowadminShifts.push(entry.value.toFixed(3) + " " + (entry.sources || []).map((source) =>
        named(source.node) + " y " + Math.round(source.previousRect.y) + "->" + Math.round(source.currentRect.y) +
        " h " + Math.round(source.previousRect.height) + "->" + Math.round(source.currentRect.height)).join(", "));
    }}
  }}).observe({{type: "layout-shift", buffered: true}});
}} catch (error) {{ /* no layout-shift entries in this browser */ }}
// htmx's error events: a request that failed, a swap or a target that went wrong.
for (const name of ["htmx:responseError", "htmx:sendError", "htmx:swapError", "htmx:targetError",
                    "htmx:onLoadError", "htmx:historyCacheError", "htmx:oobErrorNoTarget"]) {{
  document.addEventListener(name, (event) => {{
    console.error(name + " on " + (event.target && event.target.id ? "#" + event.target.id : "a " +
                  (event.target && event.target.tagName)));
  }});
}}
document.addEventListener("securitypolicyviolation", (event) => {{
  try {{
    window.{_REPORT_BINDING}({{
      directive: event.effectiveDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
      document: event.documentURI,
    }});
  }} catch (error) {{ /* binding gone: the context is closing */ }}
}}, true);
"""


class BrowserUnavailableError(RuntimeError):
    pass


def launch_chromium(playwright: Playwright) -> Browser:
    """Launch Debian's Chromium headless; fail loudly (never skip) when it cannot start."""
    if not CHROMIUM.exists():
        raise BrowserUnavailableError(f"{CHROMIUM} is missing: run `make browser` (scripts/install-browser.sh)")
    try:
        return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    except Exception as error:
        raise BrowserUnavailableError(f"Chromium at {CHROMIUM} did not start: {error}") from error


@dataclass
class BrowserLog:
    """Console errors, uncaught page errors and CSP violations seen in one browser context."""

    console_errors: list[str] = field(default_factory=list)
    console_warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._on_console)
        context.on("weberror", lambda web_error: self.page_errors.append(str(web_error.error)))
        context.expose_binding(_REPORT_BINDING, lambda _source, violation: self.csp_violations.append(violation))
        context.add_init_script(_CSP_LISTENER)

    def _on_console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        where = message.location.get("url", "") if message.location else ""
        if urlsplit(where).path in IGNORED_CONSOLE_ERROR_PATHS:
            return
        text = f"{message.text} ({where})" if where else message.text
        (self.console_errors if message.type == "error" else self.console_warnings).append(text)

    def problems(self) -> list[str]:
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"console warning: {text}" for text in self.console_warnings]
            + [f"uncaught error: {text}" for text in self.page_errors]
            + [
                "CSP violation: {directive} blocked {blocked!r} in {document} ({source}:{line}) {sample!r}".format(**v)
                for v in self.csp_violations
            ]
        )

    def clear(self) -> None:
        self.console_errors.clear()
        self.console_warnings.clear()
        self.page_errors.clear()
        self.csp_violations.clear()


def flush(context: BrowserContext) -> None:
    """Round-trip to every open page so that events the browser already sent have been handled."""
    for page in context.pages:
        if not page.is_closed():
            try:
                page.evaluate("0")
            except Exception:  # noqa: S112 - a page navigating or crashing away has nothing left to flush
                continue


def assert_browser_clean(context: BrowserContext, log: BrowserLog) -> None:
    """Fail listing every console error, uncaught error and CSP violation the context saw."""
    flush(context)
    problems = log.problems()
    assert not problems, "the browser reported problems:\n  " + "\n  ".join(problems)
