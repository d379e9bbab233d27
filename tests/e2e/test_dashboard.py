"""The dashboard in a real browser against a real hub process with demo homes bidding."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Problems, open_dashboard
from tests.e2e.harness import ADMIN_TOKEN, SCREENSHOTS, DemoHub, enrol_home, get_json

Dashboard = tuple[Page, Problems]


def chart_prices(page: Page) -> dict[int, int | None]:
    """Interval start -> price as drawn (the chart's hover areas carry the numbers it plots)."""
    cells = page.eval_on_selector_all(
        "#price-chart svg rect.c-hover",
        "rects => rects.map(r => [r.dataset.start, r.dataset.price])",
    )
    return {int(start): (int(price) if price else None) for start, price in cells}


def test_page_loads_live_and_clean(dashboard: Dashboard, demo_hub: DemoHub) -> None:
    page, problems = dashboard
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#homes-online")).to_have_text("8 / 8")
    expect(page.locator("#market-mode")).to_have_text("Periodic uniform-price auction")
    # features the hub does not offer say so; the ledger lights up where the hub has one
    expect(page.locator("#network-status")).to_contain_text("Not configured")
    _, doc = get_json(f"{demo_hub.url}/api/v1/openapi.json")
    if any(path.startswith("/api/v1/ledger/") for path in doc["paths"]):
        expect(page.locator("#ledger-status")).to_contain_text("Data from /api/v1/ledger")
        expect(page.locator("#blocks-table")).to_be_visible()
    else:
        expect(page.locator("#ledger-status")).to_contain_text("Not configured")
        expect(page.locator("#proof-form")).to_be_hidden()
    page.screenshot(path=SCREENSHOTS / "dashboard-desktop.png", full_page=True)
    assert problems.messages == []


def test_chart_shows_the_prices_the_api_returns(dashboard: Dashboard, demo_hub: DemoHub) -> None:
    page, problems = dashboard
    drawn = chart_prices(page)
    _, body = get_json(f"{demo_hub.url}/api/v1/market/intervals?limit=3000")
    cleared = {i["interval_start"]: i["price"] for i in body["intervals"]}
    common = set(drawn) & set(cleared)
    assert len(common) >= 2, (drawn, cleared)
    assert {start: drawn[start] for start in common} == {start: cleared[start] for start in common}
    assert any(price is not None for price in drawn.values())
    # the table holds the same numbers
    page.click("text=Show the data as a table")
    rows = page.eval_on_selector_all(
        "#price-table tbody tr",
        "rows => rows.map(r => [r.dataset.start, r.querySelector('[data-price]').dataset.price])",
    )
    tabled = {int(start): (int(price) if price else None) for start, price in rows}
    assert {s: tabled[s] for s in common} == {s: cleared[s] for s in common}
    # and the overview's price is the current interval's, formatted
    _, overview = get_json(f"{demo_hub.url}/api/v1/dashboard/overview")
    if overview["current"]["price"] is not None:
        euros = overview["current"]["price"] / 100
        expect(page.locator("#price-now")).to_contain_text(f"€{euros:.2f}")
    assert problems.messages == []


def test_new_intervals_arrive_without_a_reload(dashboard: Dashboard) -> None:
    page, problems = dashboard
    page.evaluate("window.__sameDocument = true")
    before = max(chart_prices(page))
    page.wait_for_function(
        "before => Math.max(...[...document.querySelectorAll('#price-chart rect.c-hover')]"
        ".map(r => Number(r.dataset.start))) > before",
        arg=before,
        timeout=20_000,
    )
    assert page.evaluate("window.__sameDocument") is True
    assert max(chart_prices(page)) > before
    expect(page.locator("#announcer")).to_contain_text("cleared")
    assert problems.messages == []


def test_admin_invites_a_home_that_enrols(dashboard: Dashboard, demo_hub: DemoHub) -> None:
    page, problems = dashboard
    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#admin-panel")).to_be_visible()
    expect(page.locator("#homes-table tbody tr")).to_have_count(8)

    page.fill("#invite-name", "House E2E")
    page.fill("#invite-bus", "3")
    page.click("#invite-form button[type=submit]")
    code = page.locator("#join-code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    page.screenshot(path=SCREENSHOTS / "admin-invite.png", full_page=True)

    home_id = enrol_home(demo_hub.url, code.inner_text())
    page.click("#homes-refresh")
    row = page.locator(f"#homes-table tr[data-home-id='{home_id}']")
    expect(row).to_contain_text("House E2E")

    row.get_by_role("button", name="Revoke home House E2E").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-ok")
    expect(row).to_contain_text("revoked")
    assert problems.messages == []


def test_admin_downloads_the_months_statements_as_csv(
    dashboard: Dashboard, demo_hub: DemoHub
) -> None:
    page, problems = dashboard
    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("#login-form button[type=submit]")
    options = page.locator("#statements-home option")
    expect(options.nth(8)).to_be_attached()  # the community and the demo's 8 homes (or more)
    month = page.input_value("#statements-month")
    assert re.fullmatch(r"\d{4}-\d{2}", month)
    with page.expect_download() as download:
        page.click("#statements-form button[type=submit]")
    assert download.value.suggested_filename == f"gridcoop-summary-{month}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[-1]["home_id"] == "community" and len(rows) >= 9
    assert int(rows[-1]["bought_local_wh"]) > 0  # the demo homes traded this month
    expect(page.locator("#statements-status")).to_contain_text("gridcoop-summary-")

    home_id = options.nth(1).get_attribute("value")
    page.select_option("#statements-home", home_id)
    with page.expect_download() as download:
        page.click("#statements-form button[type=submit]")
    assert download.value.suggested_filename == f"gridcoop-statement-{month}-{home_id}.csv"
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header.startswith("interval_start,interval_start_utc,metered")
    assert problems.messages == []


def test_admin_access_is_refused_without_the_token(dashboard: Dashboard, demo_hub: DemoHub) -> None:
    page, _ = dashboard
    page.fill("#admin-token", "not-the-token")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("The hub refused this admin token.")
    expect(page.locator("#admin-panel")).to_be_hidden()
    for path in ("/api/v1/admin/homes", "/api/v1/admin/settings"):
        status, body = get_json(demo_hub.url + path)
        assert (status, body["error"]) == (401, "unauthenticated")
        status, body = get_json(demo_hub.url + path, {"Authorization": "Bearer guess"})
        assert (status, body["error"]) == (401, "unauthenticated")


def test_russian_phone_layout(browser: Browser, demo_hub: DemoHub) -> None:
    page, problems = open_dashboard(browser, demo_hub.url + "/", width=390, height=844, locale="ru")
    try:
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        expect(page.locator("nav")).to_contain_text("Обзор")
        ru_mode = "Периодический аукцион с единой ценой"  # noqa: RUF001
        expect(page.locator("#market-mode")).to_have_text(ru_mode)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a phone"
        page.screenshot(path=SCREENSHOTS / "dashboard-phone-ru.png", full_page=True)
        page.select_option("#lang-select", "en")
        expect(page.locator("nav")).to_contain_text("Overview")
        assert problems.messages == []
    finally:
        page.context.close()


def test_keyboard_navigation(dashboard: Dashboard) -> None:
    page, _ = dashboard
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.focus("input[name=range][value='24h']")
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=range][value='7d']")).to_be_checked()
    page.wait_for_selector("#price-chart svg")
    labels = page.eval_on_selector_all(
        "input:not([type=hidden]):not([type=radio]), select",
        "fields => fields.filter(f => !f.labels.length && !f.getAttribute('aria-label'))"
        ".map(f => f.id || f.name)",
    )
    assert labels == []
