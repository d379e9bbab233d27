"""gridcoop_home.client.ledger against the real hub app (HTTP on a loopback socket, fake clock):
balances,
retiring green certificates across lots, transfers, statements, proofs, and a hub without a
ledger. Home Assistant free: runs in the hub's own venv."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client
from gridcoop_home.client.hub import HubError
from gridcoop_home.client.ledger import (
    Account,
    LedgerClient,
    LedgerDisabled,
    NotEnoughCertificates,
    TransactionsIncomplete,
    certificates_for,
)
from gridcoop_home.ledger.light_client import check_entry_proof

from hub.config import HubConfig
from hub.server.routes_ledger import LEDGER
from hub.server.runtime import CLEARING
from hub.store import Store
from tests.hub.ledger.conftest import MakeLedgerHub
from tests.hub.server.support import FakeClock, Home, Hub, curves, start_hub

pytestmark = pytest.mark.ledger_client


class Street:
    """Homes on one ledger hub whose meters count up across traded intervals."""

    def __init__(self, hub: Hub, clock: FakeClock) -> None:
        self.hub = hub
        self.clock = clock
        self.registers: dict[tuple[str, str], tuple[int, int]] = {}
        self.interval = hub.config.next_open_interval(clock())

    def ledger(self, home: Home) -> LedgerClient:
        return LedgerClient(home.client, home.home_id, home.key)

    async def _report(self, home: Home, ts_ms: int) -> None:
        await home.client.upload_readings(
            [
                meter.reading(*self.registers.get((home.home_id, meter.name), (0, 0)), ts_ms)
                for meter in home.meters
            ]
        )

    def _add(self, home: Home, meter: str, import_wh: int = 0, export_wh: int = 0) -> None:
        old = self.registers.get((home.home_id, meter), (0, 0))
        self.registers[(home.home_id, meter)] = (old[0] + import_wh, old[1] + export_wh)

    async def trade(self, seller: Home, buyer: Home, kind: str, wh: int = 600) -> None:
        """`seller` sells `wh` from its `kind` meter to `buyer`; both report; it settles."""
        interval = self.interval
        self.interval += 2 * 900
        self.clock.set(interval - 90)
        # Offering more than is bought makes the hub dispatch (curtail PV, discharge battery).
        await seller.client.submit_bid(interval, curves(sell=[(10, wh + 400, kind)]))
        await buyer.client.submit_bid(interval, curves(buy=[(25, wh, "base")]))
        self.clock.set(interval - 30)
        for home in (seller, buyer):
            await self._report(home, interval * 1000)
        await self.hub.app[CLEARING].clear(interval)
        self.clock.set(interval + 900 + 30)
        self._add(seller, "grid", export_wh=wh)
        self._add(seller, kind, export_wh=wh)
        self._add(buyer, "grid", import_wh=wh)
        for home in (seller, buyer):
            await self._report(home, (interval + 900) * 1000)
        await self.hub.app[CLEARING].clear(interval + 900)


@pytest.fixture
async def street(make_ledger_hub: MakeLedgerHub, clock: FakeClock) -> Street:
    return Street(await make_ledger_hub(), clock)


async def test_balances_of_a_home_before_and_after_it_is_recorded(street: Street) -> None:
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    ledger = street.ledger(buyer)
    assert await ledger.account() == Account(home_id=buyer.home_id, recorded=False)
    head = await ledger.head()
    assert head["token_unit_wh"] == 100
    seller = await street.hub.enrol("Seller", meters=("grid", "pv"))
    await street.trade(seller, buyer, "pv")
    account = await ledger.account()
    assert account.recorded and account.green_certificates == 6
    assert account.balance_minor < 0 and account.balance_mminor < 0
    seller_account = await street.ledger(seller).account()
    assert (seller_account.utility_tokens, seller_account.flex_tokens) == (0, 1)
    assert seller_account.tokens_minted == 6 and account.tokens_burned == 6
    answer = await ledger.home_account()
    trusted = {
        v["index"]: bytes.fromhex(v["public_key"]) for v in (await ledger.head())["validators"]
    }
    assert check_entry_proof(answer["settlement"], trusted, threshold=1).ok
    statement = await ledger.statement("2027-01")
    assert statement["home_id"] == buyer.home_id
    blocks = await ledger.blocks()
    assert blocks[0]["height"] == 0 and (await ledger.block(0, entries=False))["block"]
    assert "entries" in await ledger.block(1)
    with pytest.raises(HubError) as err:
        await ledger.entry("0" * 64)
    assert err.value.reason == "not_found" and not isinstance(err.value, LedgerDisabled)


async def test_green_certificates_are_retired_across_lots_skipping_grey_ones(
    street: Street,
) -> None:
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    solar = await street.hub.enrol("Solar", meters=("grid", "pv"))
    battery = await street.hub.enrol("Battery", meters=("grid", "battery"))
    await street.trade(battery, buyer, "battery")  # oldest lot: not green
    await street.trade(solar, buyer, "pv", 300)
    await street.trade(solar, buyer, "pv", 500)
    ledger = street.ledger(buyer)
    account = await ledger.account()
    assert (account.green_certificates, account.other_certificates) == (8, 6)
    assert len(account.lots_oldest_first()) == 3

    with pytest.raises(NotEnoughCertificates) as short:
        await ledger.retire_green(9, "too much")
    assert (short.value.have, short.value.need) == (8, 9)

    purpose = "EV charging session 2027-01-15 18:00-20:00, 0.5 kWh"
    done = await ledger.retire_green(certificates_for(500, 100), purpose)
    assert [d.units for d in done] == [3, 2] and all(d.lot for d in done)
    account = await ledger.account()
    assert (account.green_certificates, account.other_certificates) == (3, 6)
    await street.hub.app[LEDGER].seal()
    public = await ledger.retirements()
    assert {r["purpose"] for r in public} == {purpose}
    assert sum(r["units"] for r in public) == 5


async def test_transfers_of_flexibility_tokens_and_certificates(street: Street) -> None:
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    solar = await street.hub.enrol("Solar", meters=("grid", "pv"))
    friend = await street.hub.enrol("Friend", meters=("grid",))
    await street.trade(solar, buyer, "pv")
    await street.trade(solar, buyer, "pv")
    producer = street.ledger(solar)
    assert (await producer.account()).flex_tokens == 2
    spent = await producer.transfer_flex(1, memo="community EV charger, 1 h")
    assert spent.units == 1 and spent.lot is None and spent.entry["to"] == "community"
    await producer.transfer_flex(1, to=friend.home_id)
    with pytest.raises(HubError) as broke:
        await producer.transfer_flex(1)
    assert broke.value.reason == "insufficient_tokens"
    assert (await street.ledger(friend).account()).flex_tokens == 1

    given = await street.ledger(buyer).transfer_certificates(8, friend.home_id, memo="gift")
    assert [g.units for g in given] == [6, 2]
    assert (await street.ledger(friend).account()).green_certificates == 8
    with pytest.raises(NotEnoughCertificates):
        await street.ledger(buyer).transfer_certificates(5, friend.home_id)


async def test_a_refusal_part_way_reports_what_went_through(
    street: Street, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    solar = await street.hub.enrol("Solar", meters=("grid", "pv"))
    await street.trade(solar, buyer, "pv", 300)
    await street.trade(solar, buyer, "pv", 300)
    ledger = street.ledger(buyer)
    real_submit = ledger.submit
    calls = 0

    async def second_refused(entry: dict[str, object]) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise HubError(503, "unavailable", "try later")
        return await real_submit(entry)

    monkeypatch.setattr(ledger, "submit", second_refused)
    with pytest.raises(TransactionsIncomplete) as partial:
        await ledger.retire_green(5, "EV")
    assert [d.units for d in partial.value.done] == [3]
    assert partial.value.cause.reason == "unavailable"


async def test_a_grey_only_shortfall_after_skipping_is_reported(street: Street) -> None:
    """The hub said 'green' in total but the lots turned out grey: nothing is retired."""
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    battery = await street.hub.enrol("Battery", meters=("grid", "battery"))
    await street.trade(battery, buyer, "battery")
    ledger = street.ledger(buyer)
    account = await ledger.account()
    fake = Account(
        home_id=buyer.home_id,
        green_certificates=6,
        certificate_lots=dict(account.certificate_lots),
    )

    async def lying_account(home_id: str | None = None) -> Account:
        return fake

    ledger.account = lying_account  # type: ignore[method-assign]
    with pytest.raises(NotEnoughCertificates) as short:
        await ledger.retire_green(2, "EV")
    assert (short.value.have, short.value.need) == (0, 2)
    # With the hub's per-lot green flags the grey lot is never tried.
    flagged = Account(
        home_id=buyer.home_id,
        green_certificates=6,
        certificate_lots=dict(account.certificate_lots),
        green_lots={},
    )
    assert flagged.lots_oldest_first(green_only=True) == []


@pytest.fixture
async def plain_hub(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Hub]:
    monkeypatch.setattr(hub_client, "now_ms", clock.ms)
    session = aiohttp.ClientSession()
    db_url = f"sqlite:///{tmp_path / 'plain.db'}"
    served = await start_hub(HubConfig(), await Store.open(db_url), clock, session, db_url)
    yield served
    await served.stop()
    await session.close()


async def test_a_hub_without_a_ledger_says_so(plain_hub: Hub) -> None:
    home = await plain_hub.enrol("House", meters=("grid",))
    ledger = LedgerClient(home.client, home.home_id, home.key)
    for call in (ledger.head(), ledger.account(), ledger.statement("2027-01")):
        with pytest.raises(LedgerDisabled):
            await call
    with pytest.raises(LedgerDisabled):
        await ledger.transfer_flex(1)
    assert ledger.hub is home.client


def test_units_and_wiring() -> None:
    assert certificates_for(7400, 100) == 74
    assert certificates_for(7401, 100) == 75
    assert certificates_for(0, 100) == 0
    with pytest.raises(ValueError):
        certificates_for(1, 0)
    bare = LedgerClient(hub_client.HubClient(None, "http://x"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="home id"):
        bare._require_home_id()
    with pytest.raises(ValueError, match="home key"):
        bare._require_key()
    account = Account.from_wire(
        {"home_id": "h", "certificate_lots": {"5:k": 1, "3:k": 2, "x": 1}, "green_lots": {"5:k": 1}}
    )
    assert [lot for lot, _ in account.lots_oldest_first()] == ["x", "3:k", "5:k"]
    assert account.lots_oldest_first(green_only=True) == [("5:k", 1)]


async def test_a_shortfall_after_some_retirements_reports_them(street: Street) -> None:
    buyer = await street.hub.enrol("Buyer", meters=("grid",))
    solar = await street.hub.enrol("Solar", meters=("grid", "pv"))
    battery = await street.hub.enrol("Battery", meters=("grid", "battery"))
    await street.trade(solar, buyer, "pv", 300)
    await street.trade(battery, buyer, "battery")
    ledger = street.ledger(buyer)
    real = await ledger.account()
    assert real.green_certificates == 3

    async def overstated(home_id: str | None = None) -> Account:
        return Account(
            home_id=buyer.home_id, green_certificates=5, certificate_lots=real.certificate_lots
        )

    ledger.account = overstated  # type: ignore[method-assign]
    with pytest.raises(TransactionsIncomplete) as partial:
        await ledger.retire_green(5, "EV")
    assert [d.units for d in partial.value.done] == [3]
    assert partial.value.cause.reason == "insufficient_tokens"
