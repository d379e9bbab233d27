"""Take the README's picture of a populated dashboard: `python -m tests.e2e.readme_screenshot`.

Starts the demo neighbourhood, lets it trade through a simulated day for a while, and saves
docs/dashboard.png (desktop width: overview, price chart and order book).
"""

from __future__ import annotations

import argparse
import time

from playwright.sync_api import sync_playwright

from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, REPO, DemoHub


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=150, help="let the demo trade this long")
    parser.add_argument("--out", default=str(REPO / "docs" / "dashboard.png"))
    args = parser.parse_args()
    hub = DemoHub(interval_seconds=3, homes=12)
    try:
        hub.wait_for_trades()
        time.sleep(args.seconds)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page.goto(hub.url + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_timeout(1000)
            bottom = page.eval_on_selector(
                "#orderbook", "e => e.getBoundingClientRect().bottom + window.scrollY"
            )
            page.screenshot(
                path=args.out,
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16},
            )
            browser.close()
    finally:
        hub.stop()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
