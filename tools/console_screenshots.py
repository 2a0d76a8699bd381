"""Screenshots of the operator console for the README: the overview and the first open
alert, in Chinese and English, taken with Debian's Chromium from a running console.

    .venv/bin/python tools/console_screenshots.py http://127.0.0.1:8000 KEY docs/console
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main(base: str, key: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(base + "/console/login")
        page.fill("input[name=key]", key)
        page.click("button.primary")
        page.wait_for_url("**/console/")
        for lang in ("zh", "en"):
            page.goto(f"{base}/console/?lang={lang}")
            page.screenshot(path=str(out / f"overview-{lang}.png"), full_page=True)
            page.goto(f"{base}/console/alerts?lang={lang}")
            page.screenshot(path=str(out / f"alerts-{lang}.png"), full_page=True)
            first = page.query_selector("tr[data-alert] td a")
            if first is not None:
                first.click()
                page.wait_for_load_state()
                page.screenshot(path=str(out / f"alert-{lang}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
