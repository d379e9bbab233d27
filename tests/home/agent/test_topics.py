"""The MQTT topics and payloads of docs/home_agent.md, in and out."""

from __future__ import annotations

import pytest
from gridcoop_home.agent.loop import dispatch_messages
from gridcoop_home.agent.state import HomeState
from gridcoop_home.agent.topics import (
    Inbound,
    check_prefix,
    dispatch_topic,
    parse_inbound,
    price_topic,
    status_topic,
    subscriptions,
)
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.dispatch import DispatchCommand

P = "home42/gridcoop"


def test_the_outgoing_topics() -> None:
    assert price_topic(P) == "home42/gridcoop/price/now"
    assert status_topic(P) == "home42/gridcoop/status"
    assert dispatch_topic(P, "battery") == "home42/gridcoop/dispatch/battery"
    assert dispatch_topic(P, "load:dishwasher") == "home42/gridcoop/dispatch/load/dishwasher"
    assert subscriptions(P) == [
        "home42/gridcoop/meter/+/+",
        "home42/gridcoop/device/+/soc_pct",
        "home42/gridcoop/device/load/+/running",
    ]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("meter/grid/import_wh", b"1523400", Inbound("meter", "grid", "import_wh", 1523400)),
        ("meter/pv/export_wh", b" 12.5\n", Inbound("meter", "pv", "export_wh", 12.5)),
        ("device/battery/soc_pct", b"64", Inbound("soc", "battery", "soc", 64)),
        ("device/ev/soc_pct", b"0", Inbound("soc", "ev", "soc", 0)),
        ("device/load/dishwasher/running", b"ON", Inbound("running", "dishwasher", "running", 1)),
        ("device/load/washer/running", b"false", Inbound("running", "washer", "running", 0)),
    ],
)
def test_incoming_messages_are_understood(topic: str, payload: bytes, expected: Inbound) -> None:
    assert parse_inbound(P, f"{P}/{topic}", payload) == expected


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("meter/grid/import_wh", b"-5"),  # a register is never negative
        ("meter/grid/import_wh", b"NaN"),
        ("meter/grid/import_wh", b"1e999"),
        ("meter/grid/import_wh", b"lots"),
        ("meter/grid/import_wh", b"true"),
        ("meter/grid/power_w", b"100"),  # not a register the agent reads
        ("device/battery/soc_pct", b"101"),
        ("device/heatpump/soc_pct", b"50"),
        ("device/load/washer/running", b"maybe"),
        ("price/now", b"{}"),  # its own output
    ],
)
def test_unusable_messages_are_ignored(topic: str, payload: bytes) -> None:
    assert parse_inbound(P, f"{P}/{topic}", payload) is None


def test_another_prefix_is_not_ours() -> None:
    assert parse_inbound(P, "home43/gridcoop/meter/grid/import_wh", b"1") is None


def test_a_meter_is_read_once_both_registers_arrived() -> None:
    state = HomeState()
    state.apply(Inbound("meter", "grid", "import_wh", 10))
    assert state.meter("grid") is None
    state.apply(Inbound("meter", "grid", "export_wh", 3))
    assert state.meter("grid") == (10, 3)


@pytest.mark.parametrize("prefix", ["a/+", "a/#", "$SYS", "/a", "a/", "a//b"])
def test_prefixes_that_cannot_start_a_topic(prefix: str) -> None:
    assert check_prefix(prefix) is not None


def test_dispatch_payloads_carry_the_command_and_its_interval() -> None:
    allocation = Allocation(
        interval_start=1_800_000_000,
        home_id="h_1",
        bought_local_wh=0,
        sold_local_wh=0,
        bought_grid_wh=0,
        sold_grid_wh=0,
        paid_mminor=0,
        received_mminor=0,
        fees_mminor=0,
        bid_digest="d",
        dispatch=(
            DispatchCommand("battery", "discharge", 2000, -500, "sold at 18"),
            DispatchCommand("load:dishwasher", "start", 1800, 450, "bought"),
        ),
    )
    messages = dict(dispatch_messages(P, allocation, 900))
    assert messages[f"{P}/dispatch/battery"] == {
        "device": "battery",
        "action": "discharge",
        "power_w": 2000,
        "setpoint_w": -2000,
        "energy_wh": -500,
        "reason": "sold at 18",
        "interval_start": 1_800_000_000,
        "interval_end": 1_800_000_900,
    }
    assert messages[f"{P}/dispatch/load/dishwasher"]["setpoint_w"] == 1800
