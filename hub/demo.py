"""`python -m hub demo`: a live neighbourhood on one machine in under a minute.

A real hub (same app, same store, same market) runs with short intervals; simulated homes enrol
with real join codes, upload signed meter readings, bid before every gate closure and listen on
the WebSocket for their allocation and dispatch. One demo interval stands for 15 minutes of a
simulated day, so the sun rises and sets within a few minutes.

Demo homes bid with a simple rule (cover the deficit at retail, sell surplus PV near feed-in, a
battery sells dear and buys cheap); the real planner (gridcoop_home.planner) is what Home Assistant
runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
from aiohttp import web
from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable, Meter
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig
from hub.ledger.service.settings import LedgerSettings
from hub.server.admin import new_admin_token, token_sha256
from hub.server.app import create_app
from hub.store import Store

_LOGGER = logging.getLogger("hub.demo")
SIM_SLOT_HOURS = 0.25  # each demo interval stands for 15 simulated minutes
SIM_START_HOUR = 9.0  # start in the morning so PV surplus and local trades show up soon


@dataclass
class DemoHome:
    name: str
    pv_peak_w: int
    battery_wh: int
    base_load_w: int
    rng: random.Random
    client: HubClient | None = None
    grid_meter: Meter = field(default_factory=lambda: Meter("grid", "grid", SigningKey.generate()))
    pv_meter: Meter = field(default_factory=lambda: Meter("pv", "pv", SigningKey.generate()))
    import_wh: int = 0
    export_wh: int = 0
    pv_total_wh: int = 0
    soc_wh: int = 0
    dispatch_log: list[str] = field(default_factory=list)

    def net_need_wh(self, sim_hour: float) -> tuple[int, int]:
        """(load, pv) energy over one simulated slot."""
        daylight = max(0.0, math.sin(math.pi * (sim_hour - 6) / 12)) if 6 <= sim_hour <= 18 else 0
        pv = int(self.pv_peak_w * daylight * self.rng.uniform(0.7, 1.0) * SIM_SLOT_HOURS)
        evening = 1.8 if 17 <= sim_hour <= 22 else 1.0
        load = int(self.base_load_w * evening * self.rng.uniform(0.8, 1.2) * SIM_SLOT_HOURS)
        return load, pv

    def bid(self, sim_hour: float, retail: int, feed_in: int) -> BidCurves:
        load, pv = self.net_need_wh(sim_hour)
        buy: list[BidStep] = []
        sell: list[BidStep] = []
        net = load - pv
        if self.battery_wh and net > 0 and self.soc_wh > 0.3 * self.battery_wh:
            covered = min(net, self.soc_wh)  # the battery covers the house first
            net -= covered
        if net > 0:
            buy.append(BidStep(retail + 5, net, "base"))
        elif net < 0:
            sell.append(BidStep(max(feed_in, 1), -net, "pv"))
        if self.battery_wh:
            room = self.battery_wh - self.soc_wh
            if sell and self.soc_wh < 0.9 * self.battery_wh:
                pass  # surplus PV charges the battery on site; nothing to buy
            elif not sell and room > 0 and not buy:
                buy.append(BidStep(feed_in + 4, min(room, 1500), "battery"))
            if not buy and self.soc_wh > 0.5 * self.battery_wh:
                sell.append(BidStep(retail - 6, min(self.soc_wh // 4, 1500), "battery"))
        sell.sort(key=lambda step: step.price)
        return BidCurves(buy=tuple(buy), sell=tuple(sell))

    def advance_meters(self, sim_hour: float) -> None:
        load, pv = self.net_need_wh(sim_hour)
        self.pv_total_wh += pv
        net = load - pv
        if net >= 0:
            self.import_wh += net
        else:
            self.export_wh += -net


async def run_demo(
    homes: int,
    interval_seconds: int,
    duration: float,
    host: str,
    port: int,
    db_url: str | None,
    seed: int,
) -> None:
    admin_token = new_admin_token()
    config = HubConfig(
        admin_token_sha256=token_sha256(admin_token),
        interval_seconds=interval_seconds,
        gate_closure_seconds=max(2, interval_seconds // 4),
        allow_short_intervals=True,
        simulated_interval_seconds=int(SIM_SLOT_HOURS * 3600),
        request_window_ms=60_000,
    )
    with tempfile.TemporaryDirectory(prefix="gridcoop-demo-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        ledger_key = str(Path(tmp) / "ledger.key")
        config = replace(config, ledger=LedgerSettings(enabled=True, key_file=ledger_key))
        store = await Store.open(url)
        runner = web.AppRunner(create_app(config, store), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        base = f"http://{host}:{port}"
        print(f"GridCoop demo hub at {base}  (database {url})")
        print(f"Dashboard: {base}/   (admin token: {admin_token})")
        print(f"Try: curl {base}/api/v1/market/intervals   |   {base}/api/v1/openapi.json")
        try:
            async with aiohttp.ClientSession() as session:
                neighbourhood = await _enrol_homes(store, session, base, homes, seed)
                await _run_market(config, session, base, neighbourhood, duration)
        finally:
            await runner.cleanup()
            await store.close()


async def _enrol_homes(
    store: Store, session: aiohttp.ClientSession, base: str, count: int, seed: int
) -> list[DemoHome]:
    rng = random.Random(seed)
    result = []
    for n in range(count):
        home = DemoHome(
            name=f"House {n + 1}",
            pv_peak_w=rng.choice([0, 0, 4000, 6000, 8000]),
            battery_wh=rng.choice([0, 0, 0, 5000, 10000]),
            base_load_w=rng.randint(300, 900),
            rng=random.Random(seed * 1000 + n),
        )
        home.soc_wh = home.battery_wh // 2
        code = await store.create_join_code(home.name, n % 5, int(time.time() * 1000), 3_600_000)
        home.client = HubClient(session, base)
        await home.client.enrol(code, SigningKey.generate(), [home.grid_meter, home.pv_meter])
        result.append(home)
    print(f"{count} homes enrolled with join codes, home keys and meter keys")
    return result


async def _run_market(
    config: HubConfig,
    session: aiohttp.ClientSession,
    base: str,
    homes: list[DemoHome],
    duration: float,
) -> None:
    first_interval = config.next_open_interval(time.time())

    def sim_hour_of(interval: int) -> float:
        slots = (interval - first_interval) // config.interval_seconds
        return (SIM_START_HOUR + slots * SIM_SLOT_HOURS) % 24

    listeners = [asyncio.create_task(_listen(home)) for home in homes]
    public = asyncio.create_task(_print_cleared(session, base, homes, sim_hour_of))
    deadline = time.time() + duration if duration else math.inf
    try:
        while time.time() < deadline:
            interval = config.next_open_interval(time.time())
            sim_hour = sim_hour_of(interval)
            prices = config.tariff.prices_at(interval)
            await asyncio.gather(
                *(
                    _home_turn(h, interval, sim_hour, prices.retail_price, prices.feed_in_price)
                    for h in homes
                )
            )
            gate = config.gate_closure_of(interval)
            await asyncio.sleep(max(0.1, min(gate, deadline) - time.time() + 0.05))
    finally:
        for task in [*listeners, public]:
            task.cancel()
        for task in [*listeners, public]:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _home_turn(
    home: DemoHome, interval: int, sim_hour: float, retail: int, feed_in: int
) -> None:
    assert home.client is not None
    home.advance_meters(sim_hour)
    readings = [
        home.grid_meter.reading(home.import_wh, home.export_wh),
        home.pv_meter.reading(0, home.pv_total_wh),
    ]
    try:
        await home.client.upload_readings(readings)
        await home.client.submit_bid(interval, home.bid(sim_hour, retail, feed_in))
    except (HubError, HubUnreachable) as err:
        _LOGGER.warning("demo home %s: %s", home.name, err)


async def _listen(home: DemoHome) -> None:
    assert home.client is not None
    async with home.client.stream() as ws:
        async for message in ws:
            data = message.json()
            if data.get("type") != "allocation":
                continue
            for command in data["allocation"]["dispatch"]:
                _apply(home, command)
                home.dispatch_log.append(
                    f"{home.name}: {command['device']} {command['action']} {command['power_w']} W"
                )


def _apply(home: DemoHome, command: dict[str, int | str]) -> None:
    if command["device"] != "battery":
        return
    energy = int(command["energy_wh"])
    if command["action"] == "charge":
        home.soc_wh = min(home.battery_wh, home.soc_wh + energy)
    elif command["action"] == "discharge":
        home.soc_wh = max(0, home.soc_wh - energy)


async def _print_cleared(
    session: aiohttp.ClientSession,
    base: str,
    homes: list[DemoHome],
    sim_hour_of: Callable[[int], float],
) -> None:
    async with HubClient(session, base).stream() as ws:
        async for message in ws:
            data = message.json()
            if data.get("type") != "interval_cleared":
                continue
            await asyncio.sleep(0.2)  # let the homes' allocation messages arrive first
            iv = data["interval"]
            price = "no local trade" if iv["price"] is None else f"{iv['price']} c/kWh"
            hour = sim_hour_of(iv["interval_start"])
            print(
                f"simulated {int(hour):02d}:{int(hour % 1 * 60):02d}: "
                f"{iv['participants']} bids, local price {price}, "
                f"local volume {iv['volume_wh']} Wh, "
                f"grid import {iv['grid_import_wh']} Wh, export {iv['grid_export_wh']} Wh "
                f"(retail {iv['retail_price']}, feed-in {iv['feed_in_price']})"
            )
            lines = [line for home in homes for line in home.dispatch_log if "idle" not in line]
            for line in lines[:4]:
                print(f"    dispatch {line}")
            if len(lines) > 4:
                print(f"    ... and {len(lines) - 4} more dispatch commands")
            for home in homes:
                home.dispatch_log.clear()
