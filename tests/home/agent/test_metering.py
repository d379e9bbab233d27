"""Meter readings in the agent: SunSpec and MQTT sources, registers that never go down, and the
buffer that holds readings while the hub is away (HA-free, no hub process)."""

from __future__ import annotations

import socket
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest
from gridcoop_home.agent.config import AgentConfig, MeterConfig, Modbus, parse_config
from gridcoop_home.agent.loop import Agent
from gridcoop_home.agent.metering import Metering, read_battery_soc
from gridcoop_home.agent.state import HomeState
from gridcoop_home.agent.topics import Inbound
from gridcoop_home.client.errors import HubUnreachable
from gridcoop_home.client.models import ReadingsReceipt
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.keys import SigningKey

from tests.home.devices import register_maps as rm
from tests.home.devices.conftest import serve

KEYS = {"grid": SigningKey.generate(), "pv": SigningKey.generate()}


def registers(reading: SignedMessage) -> tuple[int, int]:
    return reading.body["import_wh"], reading.body["export_wh"]


async def test_a_sunspec_meter_is_read_and_signed_with_its_key() -> None:
    async with serve(rm.meter(40000), unit_id=200) as fake:
        meter = MeterConfig("grid", "sunspec", Modbus("127.0.0.1", fake.port, 200))
        metering = Metering([meter], KEYS, HomeState())
        assert await metering.sample() == 1
        await metering.close()
    (reading,) = metering.backlog
    assert reading.key_id == KEYS["grid"].key_id
    assert registers(reading) == (3_201_550, 8_523_100)


async def test_a_sunspec_battery_gives_its_state_of_charge() -> None:
    state = HomeState()
    metering = Metering([], KEYS, state)
    async with serve(rm.BATTERY) as fake:
        await read_battery_soc(metering.pool, Modbus("127.0.0.1", fake.port), state)
        await metering.close()
    assert state.soc_pct["battery"] == 56.4


async def test_a_sunspec_meter_that_does_not_answer_is_skipped() -> None:
    with socket.socket() as probe:  # free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metering = Metering(
        [MeterConfig("grid", "sunspec", Modbus("127.0.0.1", port))], KEYS, HomeState()
    )
    assert await metering.sample() == 0
    assert metering.backlog == []


async def test_an_mqtt_register_that_goes_down_is_held_at_the_last_value_sent() -> None:
    state = HomeState()
    metering = Metering([MeterConfig("grid", "mqtt")], KEYS, state)
    assert await metering.sample() == 0  # nothing published yet
    state.apply(Inbound("meter", "grid", "import_wh", 1000.7))
    state.apply(Inbound("meter", "grid", "export_wh", 50))
    await metering.sample()
    state.apply(Inbound("meter", "grid", "import_wh", 10))  # a reset or a stray message
    state.apply(Inbound("meter", "grid", "export_wh", 60))
    await metering.sample()
    assert [registers(r) for r in metering.backlog] == [(1000, 50), (1000, 60)]


class FlakyHub:
    """A hub API that is away until told otherwise, then takes every reading."""

    base_url = "http://hub.invalid"

    def __init__(self) -> None:
        self.up = False
        self.calls = 0
        self.received: list[SignedMessage] = []

    async def upload_readings(self, readings: Sequence[SignedMessage]) -> ReadingsReceipt:
        self.calls += 1
        if not self.up:
            raise HubUnreachable("connection refused")
        self.received += readings
        return ReadingsReceipt(len(readings), 0, 0)


def config() -> AgentConfig:
    return parse_config({"keys": "k", "mqtt": {}, "meters": [{"kind": "grid"}]}, Path("."))


async def test_readings_stay_buffered_while_the_hub_is_away_and_go_up_in_order() -> None:
    state = HomeState()
    hub = FlakyHub()
    metering = Metering(config().meters, KEYS, state)
    agent = Agent(config(), hub, metering, state, None)  # type: ignore[arg-type]
    for wh in (100, 200, 300):
        state.apply(Inbound("meter", "grid", "import_wh", wh))
        state.apply(Inbound("meter", "grid", "export_wh", 0))
        await agent.read_and_upload()  # never raises
    assert len(agent.metering.backlog) == 3
    assert hub.calls == 1  # backing off: the next tries wait
    hub.up = True
    agent._upload_backoff.retry_at = 0  # the backoff has passed
    await agent.read_and_upload()
    assert [registers(r)[0] for r in hub.received] == [100, 200, 300, 300]
    assert agent.metering.backlog == []


async def test_the_buffer_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "agent-state.json"
    state = HomeState()
    state.apply(Inbound("meter", "grid", "import_wh", 700))
    state.apply(Inbound("meter", "grid", "export_wh", 20))
    await Metering([MeterConfig("grid", "mqtt")], KEYS, state, path).sample()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The agent restarts; the meter now says less (a stray message): still held.
    state = HomeState()
    state.apply(Inbound("meter", "grid", "import_wh", 5))
    state.apply(Inbound("meter", "grid", "export_wh", 20))
    again = Metering([MeterConfig("grid", "mqtt")], KEYS, state, path)
    assert [registers(r) for r in again.backlog] == [(700, 20)]
    await again.sample()
    assert [registers(r) for r in again.backlog] == [(700, 20), (700, 20)]
    hub = FlakyHub()
    hub.up = True
    await again.upload(hub)  # type: ignore[arg-type]
    assert Metering([MeterConfig("grid", "mqtt")], KEYS, HomeState(), path).backlog == []


@pytest.mark.parametrize("content", ["{", '{"format": "x"}', '{"format": "gridcoop-home-state/1"}'])
def test_an_unreadable_buffer_starts_empty(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "agent-state.json"
    path.write_text(content)
    assert Metering([MeterConfig("grid", "mqtt")], KEYS, HomeState(), path).backlog == []
    assert "unreadable, starting empty" in caplog.text
