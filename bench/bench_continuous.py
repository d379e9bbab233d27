"""Benchmark of continuous trading: order-book throughput (fixed seed).

Run: .venv/bin/python bench/bench_continuous.py

20,000 limit orders from 1,000 homes on the example feeder arrive one by one (5% are cancelled
later); buyers and sellers overlap in price so most orders trade at least partly. Measured twice:
without a network check and with the feeder headroom check (LinDistFlow per candidate match).
Target: at least 10,000 orders/s matched in both. Settling the interval into the periodic result
shape is timed too. Exits 1 if a target is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from hub.grid import load_feeder
from hub.market import FeederHeadroom, LimitOrder, MarketRules, OrderBook, Side

SEED = 20240601
RULES = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)
QUARTER = 900
HOMES, ORDERS, TARGET_PER_S = 1_000, 20_000, 10_000
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "feeders" / "lindenweg.json"


def arrivals(rng: np.random.Generator) -> list[LimitOrder | str]:
    """Orders in arrival order, with order ids to cancel mixed in (as plain strings)."""
    # Each home only buys or only sells, so its orders never cross its own.
    sells = rng.random(HOMES) < 0.45
    events: list[LimitOrder | str] = []
    for number in range(ORDERS):
        home = int(rng.integers(HOMES))
        side = Side.SELL if sells[home] else Side.BUY
        price = int(rng.integers(8, 31)) if side is Side.SELL else int(rng.integers(6, 29))
        energy = int(rng.integers(20, 300))  # Wh in a quarter hour: up to 1.2 kW
        events.append(LimitOrder(f"o{number}", f"home-{home:04}", side, price, energy))
        if number > 100 and rng.random() < 0.05:
            events.append(f"o{int(rng.integers(number - 100, number))}")
    return events


def run(events: list[LimitOrder | str], book: OrderBook) -> float:
    start = time.perf_counter()
    for event in events:
        if isinstance(event, str):
            book.cancel(event)
        else:
            book.submit(event)
    return time.perf_counter() - start


def main() -> int:
    rng = np.random.default_rng(SEED)
    example = load_feeder(EXAMPLE)
    buses = [b for b in example.bus_ids if b != 0]
    feeder = example.with_homes({f"home-{i:04}": buses[i % len(buses)] for i in range(HOMES)})
    events = arrivals(rng)
    ok = True
    for label, headroom in (
        ("no network check", None),
        ("feeder headroom ", FeederHeadroom(feeder, QUARTER)),
    ):
        book = OrderBook(RULES, headroom)
        seconds = run(events, book)
        rate = ORDERS / seconds
        passed = rate >= TARGET_PER_S
        ok = ok and passed
        traded = sum(t.energy_wh for t in book.trades)
        start = time.perf_counter()
        settlement = book.settle()
        settle_ms = (time.perf_counter() - start) * 1000
        print(
            f"{label}: {ORDERS} orders in {seconds * 1000:.0f} ms = {rate:,.0f} orders/s "
            f"(target >= {TARGET_PER_S:,}) {'PASS' if passed else 'FAIL'}"
        )
        print(
            f"  {len(book.trades)} trades, {traded} Wh; settle {settle_ms:.1f} ms "
            f"({len(settlement.clearing.allocations)} homes, "
            f"average price {settlement.clearing.price})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
