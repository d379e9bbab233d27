"""A worker process: the home side of the simulation for a share of the homes.

World C runs in lockstep with the hub: for each interval the worker applies the previous
interval's dispatch (physics, meter registers, signed readings) and sends the homes' signed bids
for the next one. Worlds A and B need no hub: they run a home-day at a time in the background,
whenever the hub is busy (a slot at a time, so that the hub's next message is answered without
delay), and are finished when the hub asks for the results.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from gridcoop_home.protocol.bids import Bid
from gridcoop_home.protocol.envelope import SignedMessage, sign_message

from hub.sim.agents import IslandHome, MarketHome, Shared
from hub.sim.calendar import Calendar
from hub.sim.config import SLOTS_PER_DAY, SimConfig
from hub.sim.demand import h0_shares
from hub.sim.inputs import home_inputs
from hub.sim.keys import sim_key
from hub.sim.population import HomeSpec
from hub.sim.weather import make_weather


@dataclass(frozen=True, slots=True)
class Delivery:
    """The hub's word for one home and interval: net energy allocated and dispatch commands."""

    net_wh: int
    dispatch: list[tuple[str, str, int]]


@dataclass(frozen=True, slots=True)
class StepReply:
    readings: list[tuple[int, list[SignedMessage]]]  # (home index, one reading per meter)
    bids: list[tuple[int, SignedMessage]]
    ev_sessions: list[tuple[int, int]]  # (home index, Wh charged) for sessions that just ended


def tariff_arrays(config: SimConfig, calendar: Calendar) -> tuple[np.ndarray, np.ndarray]:
    prices = [config.hub.tariff.prices_at(calendar.start_of(s)) for s in range(calendar.total)]
    return (
        np.array([p.retail_price for p in prices], dtype=float),
        np.array([p.feed_in_price for p in prices], dtype=float),
    )


class HomeGroup:
    def __init__(self, config: SimConfig, homes: list[HomeSpec]) -> None:
        calendar = Calendar.of(config)
        weather = make_weather(config, calendar)
        h0 = h0_shares(calendar)
        retail, feed_in = tariff_arrays(config, calendar)
        shared = Shared(calendar, retail, feed_in, config.horizon_slots, config.seed)
        self.calendar = calendar
        self.home_keys = {h.index: sim_key(config.seed, h.index, "home") for h in homes}
        self.market: dict[int, MarketHome] = {}
        self.island: dict[tuple[int, str], IslandHome] = {}
        for home in homes:
            inputs = home_inputs(home, calendar, h0, weather, config.seed)
            self.market[home.index] = MarketHome(home, inputs, shared)
            for world in ("A", "B"):
                self.island[(home.index, world)] = IslandHome(home, inputs, shared, world)
        self.background = deque(
            (key, day) for day in range(config.days) for key in sorted(self.island)
        )
        self._job: tuple[IslandHome, Iterator[int]] | None = None  # the home-day under way
        self.prices: list[tuple[datetime, float]] = []

    def step(
        self,
        delivered_slot: int | None,
        deliveries: dict[int, Delivery],
        bid_slot: int | None,
        new_prices: list[tuple[datetime, float]],
    ) -> StepReply:
        readings: list[tuple[int, list[SignedMessage]]] = []
        ended: list[tuple[int, int]] = []
        if delivered_slot is not None:
            end_ms = self.calendar.start_of(delivered_slot + 1) * 1000
            for index, home in self.market.items():
                got = deliveries.get(index, Delivery(0, []))
                home.deliver(delivered_slot, got.net_wh, got.dispatch)
                readings.append((index, home.readings(end_ms)))
                charged = home.ev_session_ended(delivered_slot + 1)
                if charged is not None and home.home.retires_green:
                    ended.append((index, charged))
        elif bid_slot is not None:  # the first interval: every meter reports where it starts
            start_ms = self.calendar.start_of(bid_slot) * 1000
            readings = [(index, home.readings(start_ms)) for index, home in self.market.items()]
        self.prices.extend(new_prices)
        bids: list[tuple[int, SignedMessage]] = []
        if bid_slot is not None:
            start = self.calendar.start_of(bid_slot)
            recent = [
                (t, p) for t, p in self.prices if t >= self.calendar.time_of(bid_slot - 7 * 96)
            ]
            for index, home in self.market.items():
                curves = home.bid(bid_slot, recent)
                body = Bid(start, curves).to_wire()
                bids.append(
                    (index, sign_message(self.home_keys[index], "bid", body, start, start * 1000))
                )
        return StepReply(readings, bids, ended)

    def background_step(self) -> bool:
        """Run one slot of world A or B (home-days in order); False when nothing is left."""
        if self._job is None:
            if not self.background:
                return False
            key, day = self.background.popleft()
            days_slots = range(day * SLOTS_PER_DAY, (day + 1) * SLOTS_PER_DAY)
            self._job = (self.island[key], iter(days_slots))
        home, slots = self._job
        slot = next(slots, None)
        if slot is None:
            self._job = None
        else:
            home.run_slot(slot)
        return True

    def results(self) -> dict[int, dict[str, Any]]:
        while self.background_step():
            pass
        out: dict[int, dict[str, Any]] = {}
        for index, home in self.market.items():
            a, b = self.island[(index, "A")], self.island[(index, "B")]
            out[index] = {
                "A": a.track.data,
                "B": b.track.data,
                "C": home.track.data,
                "plans": b.plans + home.plans,
                "registers": {k: tuple(v) for k, v in home.registers.items()},
            }
        return out


def worker_main(conn: Connection, config: SimConfig, homes: list[HomeSpec]) -> None:
    """Serve the hub until it asks for the results; fill idle time with worlds A and B."""
    with contextlib.suppress(OSError):
        os.nice(5)  # the hub process is the critical path: let it have a core when it needs one
    group = HomeGroup(config, homes)
    cpu = {"step": 0.0, "background": 0.0}  # process CPU seconds
    conn.send("ready")
    while True:
        started = time.process_time()
        if not conn.poll() and group.background_step():
            cpu["background"] += time.process_time() - started
            continue
        message = conn.recv()
        started = time.process_time()
        if message[0] == "step":
            _kind, delivered_slot, deliveries, bid_slot, new_prices = message
            reply = group.step(delivered_slot, deliveries, bid_slot, new_prices)
            cpu["step"] += time.process_time() - started
            conn.send(reply)
        elif message[0] == "results":
            results = group.results()
            cpu["background"] += time.process_time() - started
            conn.send((results, cpu))
            return
