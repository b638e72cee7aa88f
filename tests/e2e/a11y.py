"""Accessibility checks with axe-core (npm, pinned in package.json, installed by scripts/install-browser.sh).

The page's CSP (``script-src 'self'``) blocks ``page.add_script_tag(path=...)``: Playwright inlines
the file into a ``<script>`` element, which is inline script. ``page.evaluate(source)`` goes through
the DevTools protocol instead, which the page's CSP does not govern, so axe is injected that way and
the page keeps its real CSP during the check (no ``bypass_csp`` context that could hide a violation).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from playwright.sync_api import Page

from .server import REPO_ROOT

AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@cache
def _axe_source(path: Path = AXE_JS) -> str:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make browser` (scripts/install-browser.sh)")
    return path.read_text()


# Two animation frames: layout is done and ResizeObserver callbacks (flowadmin.js marks scrolling
# regions focusable in one) have run, e.g. after the viewport was resized.
_NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def axe_violations(page: Page, *, include: str | None = None, disable_rules: tuple[str, ...] = ()) -> list[dict]:
    """Run axe on the page (or on the element matching ``include``) once it has settled; its violations."""
    page.evaluate(_NEXT_FRAMES)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
        if not page.evaluate("() => typeof window.axe === 'object'"):
            raise RuntimeError("axe-core did not load into the page")
    return page.evaluate(
        """async ([include, disabled]) => {
            const options = {resultTypes: ["violations"], rules: {}};
            for (const rule of disabled) options.rules[rule] = {enabled: false};
            const results = await window.axe.run(include ? {include: [include]} : document, options);
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                targets: v.nodes.map((node) => node.target.join(" ")),
            }));
        }""",
        [include, list(disable_rules)],
    )


def format_violations(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} -> {', '.join(v['targets'])}  [{v['helpUrl']}]" for v in violations
    )


def assert_no_serious_a11y_violations(
    page: Page, *, include: str | None = None, disable_rules: tuple[str, ...] = ()
) -> None:
    """Fail listing the rule id, impact and targets of every serious or critical axe violation."""
    serious = [v for v in axe_violations(page, include=include, disable_rules=disable_rules) if v["impact"] in SERIOUS]
    assert not serious, f"serious or critical accessibility violations on {page.url}:\n{format_violations(serious)}"
