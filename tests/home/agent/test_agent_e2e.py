"""The quick start of docs/home_agent.md against real processes: a hub (`python -m hub serve`),
the operator's `invite`, `gridcoop-home join` and `gridcoop-home run` with the documented
agent.toml, and the real Mosquitto at 127.0.0.1:1883 where a fake meter publishes and a home
automation would listen. Each test has its own topic prefix and hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import stat
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

# The MQTT client is the optional extra gridcoop-home[agent]: not in Home Assistant's venv, where
# tests/home runs again on HA's pinned dependencies. The project's venvs install it (test extra).
aiomqtt = pytest.importorskip("aiomqtt", reason="gridcoop-home[agent] is not installed here")

from gridcoop_home.agent.keyfile import load_keys  # noqa: E402
from gridcoop_home.client.hub import HubClient  # noqa: E402

from tests.home.agent.support import (  # noqa: E402
    BROKER,
    AgentProcess,
    HubProcess,
    Watcher,
    agent,
    quick_start_toml,
    unique_prefix,
)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    served = HubProcess(tmp_path)
    served.start()
    yield served
    served.stop()


@pytest.fixture
async def watcher() -> AsyncIterator[Watcher]:
    prefix = unique_prefix()
    async with aiomqtt.Client(*BROKER, identifier=f"test-{prefix.rsplit('/', 1)[1]}") as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        watch = Watcher(client, prefix)
        task = asyncio.create_task(watch.collect())
        yield watch
        await watch.clear()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def join(hub: HubProcess, tmp: Path) -> Path:
    keys = tmp / "home-keys.json"
    code = hub.invite("Agent house")
    done = agent(tmp, "join", hub.url, code, "--keys", str(keys))
    assert done.returncode == 0, done.stderr
    assert "Joined as Agent house" in done.stdout
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    return keys


async def meter(watch: Watcher, import_wh: int, export_wh: int, soc: int = 64) -> None:
    """The fake meter and battery, publishing retained as the quick start does."""
    p = watch.prefix
    await watch.client.publish(f"{p}/meter/grid/import_wh", str(import_wh), retain=True)
    await watch.client.publish(f"{p}/meter/grid/export_wh", str(export_wh), retain=True)
    await watch.client.publish(f"{p}/device/battery/soc_pct", str(soc), retain=True)


async def hub_view(
    hub: HubProcess, keys_path: Path, interval: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the hub holds for the home: its readings and its bid for `interval`."""
    keys = load_keys(keys_path)
    async with aiohttp.ClientSession() as session:
        client = HubClient(session, hub.url, home_key=keys.home_key)
        return await client.readings(), await client.bid(interval)


async def test_quick_start_join_read_bid_and_publish(
    hub: HubProcess, watcher: Watcher, tmp_path: Path
) -> None:
    keys = join(hub, tmp_path)
    again = agent(tmp_path, "join", hub.url, hub.invite("Twice"), "--keys", str(keys))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    config = tmp_path / "agent.toml"
    config.write_text(quick_start_toml(watcher.prefix, reading_interval=1))
    await meter(watcher, 1_523_400, 873_100)
    run = AgentProcess(tmp_path, config)
    try:
        p = watcher.prefix
        await watcher.wait_for("status", lambda: watcher.latest.get(f"{p}/status") == "online", 30)
        await watcher.wait_for("bid", lambda: f"{p}/bid" in watcher.latest, 60)
        await watcher.wait_for(
            "dispatch", lambda: any(t.startswith(f"{p}/dispatch/") for t in watcher.latest), 60
        )
        await meter(watcher, 1_523_900, 873_100)  # the meter moves on: a later reading
        await asyncio.sleep(2)
        assert run.alive(), run.output()
    finally:
        code = run.stop()
    assert code == 0, run.output()
    await watcher.wait_for("offline", lambda: watcher.latest[f"{p}/status"] == "offline", 10)
    price = json.loads(watcher.latest[f"{p}/price/now"])
    assert price["unit"] == "minor/kWh" and price["retail_price"] > 0
    assert price["interval_end"] - price["interval_start"] == 10
    commands = {
        t: json.loads(v) for t, v in watcher.latest.items() if t.startswith(f"{p}/dispatch/")
    }
    assert all(c["interval_end"] - c["interval_start"] == 10 for c in commands.values())
    assert {c["device"] for c in commands.values()} <= {"battery", "pv", "load:dishwasher"}
    bid = json.loads(watcher.latest[f"{p}/bid"])
    readings, stored_bid = await hub_view(hub, keys, bid["interval_start"])
    registers = {(r["import_wh"], r["export_wh"]) for r in readings}
    assert {(1_523_400, 873_100), (1_523_900, 873_100)} <= registers
    assert stored_bid["interval_start"] == bid["interval_start"]
    assert "Traceback" not in run.output()


async def test_an_unreachable_hub_buffers_readings_and_never_crashes(
    hub: HubProcess, watcher: Watcher, tmp_path: Path
) -> None:
    keys = join(hub, tmp_path)
    hub.stop()  # the hub goes away before the agent starts
    config = tmp_path / "agent.toml"
    config.write_text(quick_start_toml(watcher.prefix, reading_interval=1))
    await meter(watcher, 2_000, 5)
    run = AgentProcess(tmp_path, config)
    try:
        await asyncio.sleep(6)
        assert run.alive(), run.output()
        assert "readings buffered" in run.output()
        back_ms = int(time.time() * 1000)
        hub.start()  # same port and database: the hub is back
        p = watcher.prefix
        await watcher.wait_for("bid after the outage", lambda: f"{p}/bid" in watcher.latest, 90)
        assert run.alive(), run.output()
    finally:
        code = run.stop()
    assert code == 0, run.output()
    bid = json.loads(watcher.latest[f"{p}/bid"])
    readings, _ = await hub_view(hub, keys, bid["interval_start"])
    during_outage = [r for r in readings if r["ts"] < back_ms]
    assert during_outage and all(r["import_wh"] == 2_000 for r in during_outage)
    assert "Traceback" not in run.output()
