"""`make screenshots`: PNGs of the main screens, per role, at desktop and phone widths.

    .venv/bin/python -m tests.e2e.screenshots [--out docs/screenshots] [--screen home ...]

Starts the same server as the browser suite (throw-away database, demo users, embedded emulator)
prepares the change requests and audit events some screens show (``prepare_screen_data``), and
writes ``<screen>-<role>-<width>.png`` for every screen in ``screens.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import django

# The screens' helpers read the demo users' definitions from the project; the server itself runs apart.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowadmin.settings")
django.setup()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from .browser import VIEWPORTS, BrowserLog, flush, launch_chromium  # noqa: E402
from .screens import prepare_screen_data, screen_cases  # noqa: E402
from .server import REPO_ROOT, E2EServer  # noqa: E402

DEFAULT_OUT = REPO_ROOT / "docs" / "screenshots"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs (default: %(default)s)")
    parser.add_argument("--screen", action="append", help="only these screens (repeatable)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=15_000)

    cases = [(screen, role) for screen, role in screen_cases() if not args.screen or screen.name in args.screen]
    problems = 0
    with E2EServer() as server, sync_playwright() as playwright:
        server.manage("sync_flowspecs")
        data = prepare_screen_data(server)
        browser = launch_chromium(playwright)
        try:
            for screen, role in cases:
                for viewport in VIEWPORTS.values():
                    context = browser.new_context(base_url=server.url, viewport=viewport)
                    log = BrowserLog()
                    log.watch(context)
                    try:
                        page = context.new_page()
                        screen.open(page, role, data)
                        path = args.out / f"{screen.name}-{role}-{viewport['width']}.png"
                        # No blinking caret or running transition: the same page gives the same PNG.
                        page.screenshot(path=path, full_page=True, caret="hide", animations="disabled")
                        flush(context)
                        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
                        for problem in log.problems():
                            problems += 1
                            print(f"  {problem}", file=sys.stderr)
                    finally:
                        context.close()
        finally:
            browser.close()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
