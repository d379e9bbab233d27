"""The operator sees each home's statement exactly as the home does: the admin API and
`gridcoop-hub statements --home` serve the ledger's statement, JSON and CSV alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.cli import main
from hub.server.admin import ADMIN_TOKEN_ENV
from tests.hub.dashboard.support import ADMIN_TOKEN, ADMIN_TOKEN_SHA256
from tests.hub.ledger.conftest import MakeLedgerHub
from tests.hub.ledger.scenarios import trade
from tests.hub.server.support import FakeClock

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_the_operator_gets_the_homes_own_statement(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN_TOKEN_SHA256)
    hub = await make_ledger_hub()
    _seller, buyer, interval = await trade(hub, clock)
    month = datetime.fromtimestamp(interval, UTC).strftime("%Y-%m")
    own = (await hub.signed(buyer.key, "GET", f"/api/v1/ledger/statements/{month}")).body
    assert own["intervals"] == 1 and own["total_amount_minor"] < 0

    path = f"/api/v1/admin/statements/{month}/homes/{buyer.home_id}"
    reply = await hub.raw("GET", path, headers=ADMIN)
    assert reply.status == 200 and reply.body == own

    own_path = f"/api/v1/ledger/statements/{month}?format=csv"
    headers = hub.signed_headers(buyer.key, "GET", own_path)
    async with hub.session.get(hub.url + own_path, headers=headers) as response:
        own_csv = await response.text()
    async with hub.session.get(hub.url + path + "?format=csv", headers=ADMIN) as response:
        assert response.status == 200 and response.content_type == "text/csv"
        assert await response.text() == own_csv
        assert (
            f"gridcoop-statement-{month}-{buyer.home_id}.csv"
            in response.headers["Content-Disposition"]
        )

    command = ["statements", month, "--home", buyer.home_id, "--db", hub.db_url]
    assert await asyncio.to_thread(main, [*command, "--csv"]) == 0
    assert capsys.readouterr().out == own_csv
    assert await asyncio.to_thread(main, command) == 0
    text = capsys.readouterr().out
    assert f"Statement {month} for home {buyer.home_id} (EUR minor units)" in text
    assert f"total {own['total_amount_minor']} over 1 settled intervals" in text
