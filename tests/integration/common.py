"""Fixtures and helpers for the Home Assistant integration tests (loaded by conftest.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

import pytest
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.errors import HubError, LedgerDisabled
from gridcoop_home.client.ledger import Account, NotEnoughCertificates, Submitted
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.gridcoop.const import (
    CONF_CURRENCY,
    CONF_FEED_IN_PRICE,
    CONF_GRID_LIMIT_KW,
    CONF_HOME_ID,
    CONF_HOME_KEY,
    CONF_METER_KEYS,
    CONF_MODE,
    CONF_RETAIL_PRICE,
    CONF_URL,
    DOMAIN,
    METER_KINDS,
    MODE_HUB,
    MODE_ISLAND,
)
from tests.hub.ledger.factory import ChainBuilder
from tests.hub.ledger.test_light_client import blocks as ledger_blocks
from tests.hub.ledger.test_light_client import head_answer, home_answer

HUB_URL = "http://hub.test:8080"
HOME_ID = "a1b2c3d4e5f60718"
NOW = datetime(2026, 6, 1, 10, 5, tzinfo=UTC)  # frozen test time: a sunny morning
INTERVAL = 900
CURRENT = int(NOW.timestamp()) - int(NOW.timestamp()) % INTERVAL
# Fixed keys so snapshots and diagnostics do not change between runs.
HOME_KEY = SigningKey.from_text("A" * 43)
METER_KEYS = {
    kind: SigningKey.from_text(chr(ord("B") + i) * 43) for i, kind in enumerate(METER_KINDS)
}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/gridcoop in every test."""


async def control_entities(hass: HomeAssistant) -> None:
    """The switches and setpoints GridCoop drives: real helpers, so a write can be read back.
    Set up with the entry (after the recorder, in tests that have one)."""
    if "input_boolean" in hass.config.components:
        return
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"dishwasher": {}, "wallbox": {}}}
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "battery_setpoint": {"min": -5000, "max": 5000, "step": 1, "initial": 0},
                "wallbox_power": {"min": 0, "max": 11000, "step": 1, "initial": 0},
            }
        },
    )


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's serializer: registry ids and timestamps become ANY."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def frozen(freezer: Any) -> Any:
    freezer.move_to(NOW)
    return freezer


def info(protocol_version: int = 1) -> dict[str, Any]:
    return {
        "hub_version": "0.1.0",
        "protocol_version": protocol_version,
        "server_time_ms": int(NOW.timestamp() * 1000),
        "current_interval_start": CURRENT,
        "next_open_interval_start": CURRENT + INTERVAL,
        "retail_price": 30,
        "feed_in_price": 8,
        "interval_seconds": INTERVAL,
        "gate_closure_seconds": 60,
        "currency": "EUR",
        "timezone": "Europe/Berlin",
    }


def interval(start: int, price: int | None = 20) -> dict[str, Any]:
    return {
        "interval_start": start,
        "interval_end": start + INTERVAL,
        "price": price,
        "volume_wh": 1500,
        "retail_price": 30,
        "feed_in_price": 8,
        "participants": 3,
    }


def allocation(start: int, dispatch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "interval_start": start,
        "home_id": HOME_ID,
        "bought_local_wh": 1000,
        "sold_local_wh": 0,
        "bought_grid_wh": 500,
        "sold_grid_wh": 0,
        "paid_mminor": 35000,  # 1 kWh at 20 c + 0.5 kWh at 30 c
        "received_mminor": 0,
        "fees_mminor": 0,
        "bid_digest": "x",
        "dispatch": dispatch or [],
    }


@dataclass
class WsMessage:
    type: Any
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class FakeWebSocket:
    def __init__(self, queue: asyncio.Queue[WsMessage]) -> None:
        self._queue = queue

    def __aiter__(self) -> FakeWebSocket:
        return self

    async def __anext__(self) -> WsMessage:
        return await self._queue.get()


class FakeHub:
    """Stands in for the hub's transport (gridcoop_home.client.hub.HubClient): canned wire
    answers, optional failure, a pushable WebSocket. The integration talks to it through the
    real typed API (HubApi), so the parsing of every answer is tested too."""

    def __init__(self) -> None:
        self.base_url = HUB_URL
        self.fail: Exception | None = None
        self.enrol_error: Exception | None = None
        self.info_data = info()
        self.intervals_data = [interval(CURRENT)]
        self.results_data: list[dict[str, Any]] = []
        self.home_id = HOME_ID
        self.uploaded: list[Any] = []
        self.bids: list[tuple[int, Any]] = []
        self.bid_error: Exception | None = None
        self.pushes: asyncio.Queue[WsMessage] = asyncio.Queue()
        self.stream_open = asyncio.Event()
        self.ledger: FakeLedger

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    async def info(self) -> dict[str, Any]:
        self._check()
        return self.info_data

    async def tariffs(self, intervals: int = 96) -> dict[str, Any]:
        self._check()
        return {
            "currency": "EUR",
            "tariffs": [
                {
                    "interval_start": CURRENT + i * INTERVAL,
                    "retail_price": 40 if 68 <= i < 80 else 30,
                    "feed_in_price": 8,
                }
                for i in range(intervals)
            ],
        }

    async def intervals(self, **query: int) -> list[dict[str, Any]]:
        self._check()
        return self.intervals_data

    async def results(self, **query: int) -> list[dict[str, Any]]:
        self._check()
        return self.results_data

    async def enrol(self, join_code: str, home_key: Any, meters: Any) -> dict[str, Any]:
        self._check()
        if self.enrol_error is not None:
            raise self.enrol_error
        return {
            "home": {"home_id": self.home_id, "name": "Maple Street 4"},
            "protocol_version": 1,
            "currency": "EUR",
        }

    async def home(self) -> dict[str, Any]:
        self._check()
        return {"home_id": self.home_id}

    async def upload_readings(self, readings: list[Any]) -> dict[str, Any]:
        self._check()
        self.uploaded.extend(readings)
        return {"accepted": len(readings), "duplicates": 0, "rejected": 0}

    async def submit_bid(self, interval_start: int, curves: Any) -> dict[str, Any]:
        self._check()
        if self.bid_error is not None:
            raise self.bid_error
        self.bids.append((interval_start, curves))
        return {"interval_start": interval_start, "status": "stored"}

    @asynccontextmanager
    async def stream(self, heartbeat: float = 30) -> AsyncIterator[FakeWebSocket]:
        self._check()
        self.stream_open.set()
        yield FakeWebSocket(self.pushes)

    def push(self, message: str, kind: Any = None) -> None:
        import aiohttp

        self.pushes.put_nowait(WsMessage(kind or aiohttp.WSMsgType.TEXT, message))


SETTLED = CURRENT - 2 * 3600  # the interval the test ledger settled


def home_chain(home_id: str = HOME_ID, witnesses: int = 0, key_salt: str = "") -> ChainBuilder:
    """A real, signed ledger in which `home_id` bought 600 Wh for 12.35 EUR (its settled balance
    -1235 minor units) from a neighbour two hours ago: what the home's light client checks. The
    same chain in every run; another `key_salt` gives the homes other keys (another history)."""
    t0 = SETTLED
    chain = ChainBuilder(witnesses=witnesses, key_salt=key_salt)
    chain.enrol("seller", ("grid", "pv"))
    chain.enrol(home_id, ("grid",))
    chain.readings("seller", t0, grid=(0, 0), pv=(0, 0))
    chain.readings(home_id, t0, grid=(0, 0))
    chain.seal(None)
    chain.clearing(
        t0,
        [
            {"home_id": "seller", "sold_local_wh": 600, "received_mminor": 1_234_567},
            {"home_id": home_id, "bought_local_wh": 600, "paid_mminor": 1_234_567},
        ],
    )
    chain.readings("seller", t0 + 900, grid=(0, 600), pv=(0, 700))
    chain.readings(home_id, t0 + 900, grid=(600, 0))
    chain.seal(t0)
    chain.settle(t0)
    chain.seal(t0 + 900)
    return chain


class FakeLedger:
    """Stands in for gridcoop_home.client.ledger.LedgerClient. Off (the hub keeps no ledger) by
    default; its chain is real and signed, so the home's light client checks it for real."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        self.enabled = False
        self.fail: Exception | None = None
        self.chain = home_chain()
        self.validators: int | None = None  # list only the first N validators
        self.claimed_balance: int | None = None  # report another balance than the proven one
        self.account_data = Account(
            home_id=HOME_ID,
            balance_mminor=-1_234_567,
            balance_minor=-1235,
            flex_tokens=3,
            utility_tokens=2,
            tokens_minted=40,
            tokens_burned=12,
            green_certificates=80,
            other_certificates=5,
            certificate_lots={"1780300800:pvkey": 50, "1780301700:pvkey": 30, "1780302600:g": 5},
        )
        self.calls: list[tuple[str, Any]] = []

        self.settled = True  # False: the hub has settled nothing of this home yet

    def _check(self) -> None:
        if not self.enabled:
            raise LedgerDisabled(404, "not_found", "no such route")
        if self.fail is not None:
            raise self.fail
        self.hub._check()

    async def head(self) -> dict[str, Any]:
        self._check()
        height = self.chain.blocks[-1].header.height
        return {
            **head_answer(self.chain, self.validators),
            "height": height,
            "hash": self.chain.blocks[-1].header.hash,
            "final_height": height,
            "token_unit_wh": 100,
            "settlement_deadline_seconds": 3600,
        }

    async def blocks(self, start: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        self._check()
        return ledger_blocks(self.chain, start, start + limit)

    async def home_account(self, home_id: str | None = None) -> dict[str, Any]:
        self._check()
        answer = home_answer(self.chain, HOME_ID, claimed=self.claimed_balance)
        account = dataclasses.asdict(self.account_data)
        account["balance_minor"] = answer["account"]["balance_minor"]
        answer["account"] = account
        if not self.settled:  # before the first settlement: nothing to prove, nothing to owe
            return {"account": {**account, "balance_minor": 0}, "settlement": None}
        return answer

    async def account(self, home_id: str | None = None) -> Account:
        self._check()
        return self.account_data

    async def retire_green(self, units: int, purpose: str) -> list[Submitted]:
        self._check()
        self.calls.append(("retire", (units, purpose)))
        if units > self.account_data.green_certificates:
            raise NotEnoughCertificates(self.account_data.green_certificates, units)
        first = min(units, 50)
        done = [Submitted("h1", {}, "1780300800:pvkey", first)]
        if units > first:
            done.append(Submitted("h2", {}, "1780301700:pvkey", units - first))
        return done

    async def transfer_flex(self, units: int, to: str = "community", memo: str = "") -> Submitted:
        self._check()
        self.calls.append(("flex", (units, to, memo)))
        if units > self.account_data.flex_tokens:
            raise HubError(409, "insufficient_tokens", "not enough")
        return Submitted("h3", {}, None, units)

    async def transfer_certificates(self, units: int, to: str, memo: str = "") -> list[Submitted]:
        self._check()
        self.calls.append(("certificates", (units, to, memo)))
        have = self.account_data.green_certificates + self.account_data.other_certificates
        if units > have:
            raise NotEnoughCertificates(have, units)
        return [Submitted("h4", {}, "1780300800:pvkey", units)]


@pytest.fixture
def fake_hub() -> Generator[FakeHub]:
    hub = FakeHub()
    hub.ledger = FakeLedger(hub)
    with (
        patch("custom_components.gridcoop.hub_link.make_client", return_value=HubApi(hub)),  # type: ignore[arg-type]
        patch("custom_components.gridcoop.hub_link.make_ledger_client", return_value=hub.ledger),
    ):
        yield hub


@pytest.fixture
def fake_ledger(fake_hub: FakeHub) -> FakeLedger:
    """A hub with a token ledger."""
    fake_hub.ledger.enabled = True
    return fake_hub.ledger


def hub_entry(
    subentries: list[ConfigSubentryData] | None = None, **options: Any
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Maple Street 4",
        unique_id=HOME_ID,
        entry_id="01HUBENTRY000000000000000",
        data={
            CONF_MODE: MODE_HUB,
            CONF_URL: HUB_URL,
            CONF_HOME_ID: HOME_ID,
            CONF_HOME_KEY: HOME_KEY.to_text(),
            CONF_METER_KEYS: {kind: key.to_text() for kind, key in METER_KEYS.items()},
            CONF_CURRENCY: "EUR",
        },
        options=options,
        subentries_data=subentries or [],
    )


def island_entry(
    subentries: list[ConfigSubentryData] | None = None, **options: Any
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Island",
        unique_id="island_island",
        entry_id="01ISLANDENTRY000000000000",
        data={
            CONF_MODE: MODE_ISLAND,
            CONF_RETAIL_PRICE: 0.30,
            CONF_FEED_IN_PRICE: 0.08,
            CONF_CURRENCY: "EUR",
            CONF_GRID_LIMIT_KW: 11.0,
        },
        options=options,
        subentries_data=subentries or [],
    )


def subentry(kind: str, title: str, sub_id: str, **data: Any) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={"source": "entities", **data},
        subentry_type=kind,
        title=title,
        subentry_id=sub_id,
        unique_id=None,
    )


BATTERY_SUB = subentry(
    "battery",
    "Home battery",
    "01BATTERY0000000000000000",
    soc_entity="sensor.battery_soc",
    import_energy_entity="sensor.battery_in",
    export_energy_entity="sensor.battery_out",
    setpoint_entity="input_number.battery_setpoint",
    capacity_kwh=10.0,
    max_power_kw=5.0,
)
GRID_SUB = subentry(
    "grid_meter",
    "Grid meter",
    "01GRIDMETER00000000000000",
    power_entity="sensor.grid_power",
    import_energy_entity="sensor.grid_import",
    export_energy_entity="sensor.grid_export",
)
LOAD_SUB = subentry(
    "flexible_load",
    "Dishwasher",
    "01DISHWASHER0000000000000",
    switch_entity="input_boolean.dishwasher",
    load_power_w=2000.0,
    duration_min=120.0,
)
EV_SUB = subentry(
    "ev_charger",
    "Wallbox",
    "01WALLBOX0000000000000000",
    switch_entity="input_boolean.wallbox",
    setpoint_entity="input_number.wallbox_power",
    capacity_kwh=60.0,
    max_power_kw=11.0,
    target_soc=80.0,
)
PV_SUB = subentry(
    "pv",
    "Roof PV",
    "01ROOFPV00000000000000000",
    export_energy_entity="sensor.pv_energy",
    peak_kw=6.0,
)
ALL_SUBS = [BATTERY_SUB, GRID_SUB, LOAD_SUB, EV_SUB, PV_SUB]


def set_source_states(hass: HomeAssistant, grid_import: float = 1200.5) -> None:
    """The household's existing entities that the devices read from."""
    hass.states.async_set("sensor.battery_soc", "60", {"unit_of_measurement": "%"})
    hass.states.async_set("sensor.battery_in", "100.0", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.battery_out", "90.0", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.grid_power", "1.5", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.grid_import", str(grid_import), {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.grid_export", "300000", {"unit_of_measurement": "Wh"})
    hass.states.async_set("sensor.pv_energy", "5000", {"unit_of_measurement": "kWh"})


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await control_entities(hass)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
