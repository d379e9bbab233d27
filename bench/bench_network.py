"""Benchmark of network-constrained clearing (fixed seed), plus the LinDistFlow-vs-AC error.

Run: .venv/bin/python bench/bench_network.py

Targets:
- 1,000 homes on the example feeder, no limit binding: clear_network within 3x the plain
  merit-order clearing (clear_uniform_price) measured in the same run.
- 10,000 homes on a 300-bus feeder with binding limits: under 250 ms end to end (merit order,
  sweep, LP build and solve with HiGHS, rounding and allocations).
Also prints the largest LinDistFlow voltage error against pandapower's AC power flow on the example
feeder (needs pandapower, a test dependency; skipped without it). Exits 1 if a target is missed.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hub.grid import Bus, Feeder, Line, Transformer, load_feeder, sweep
from hub.market import (
    MarketRules,
    NetworkClearing,
    Order,
    Step,
    clear_network,
    clear_uniform_price,
)

SEED = 20240601
RULES = MarketRules(retail_price=30, feed_in_price=8, fee_per_kwh=1, k_percent=50)
QUARTER = 900
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "feeders" / "lindenweg.json"
SMALL_HOMES, SMALL_TARGET_RATIO = 1_000, 3.0
LARGE_HOMES, LARGE_BUSES, LARGE_TARGET_MS = 10_000, 300, 250.0


def neighbourhood(homes: int, rng: np.random.Generator, scale_wh: int) -> list[Order]:
    """Half consumers, 30% producers, 20% batteries; 3 steps per curve of up to `scale_wh` Wh."""
    orders = []
    for i in range(homes):
        kind = rng.random()
        energy = rng.integers(scale_wh // 10, scale_wh, size=3).tolist()
        if kind < 0.5:
            buy, sell = sorted(rng.integers(5, 41, size=3).tolist(), reverse=True), []
        elif kind < 0.8:
            buy, sell = [], sorted(rng.integers(5, 41, size=3).tolist())
        else:
            buy = sorted(rng.integers(5, 20, size=3).tolist(), reverse=True)
            sell = sorted(rng.integers(20, 41, size=3).tolist())
        orders.append(
            Order(
                home_id=f"home-{i:05}",
                buy=tuple(Step(p, e) for p, e in zip(buy, energy, strict=False)),
                sell=tuple(Step(p, e) for p, e in zip(sell, energy, strict=False)),
                priority=int(rng.random() < 0.1),
            )
        )
    return orders


def radial_feeder(buses: int, homes: int, rng: np.random.Generator) -> Feeder:
    """A synthetic tree: six trunks from the busbar, short laterals off trunk buses."""
    lines: list[Line] = []
    trunk_ends = [0] * 6
    bus = 1
    while bus < buses:
        trunk = bus % 6
        parent = trunk_ends[trunk]
        lateral = rng.random() < 0.35 and parent != 0
        cable = (0.32, 0.082, 180.0) if lateral else (0.206, 0.080, 280.0)  # per km, kVA
        metres = 25 if lateral else 30
        lines.append(
            Line(
                f"L{bus}", parent, bus, cable[0] * metres / 1000, cable[1] * metres / 1000, cable[2]
            )
        )
        if not lateral:
            trunk_ends[trunk] = bus
        bus += 1
    return Feeder(
        name=f"synthetic {buses}-bus feeder",
        nominal_kv=0.4,
        transformer=Transformer("T", 0, 4000.0, 1.03, 0.0005, 0.002),
        buses=tuple(Bus(i) for i in range(buses)),
        lines=tuple(lines),
        homes={f"home-{i:05}": 1 + i % (buses - 1) for i in range(homes)},
    )


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def small_case(rng: np.random.Generator) -> bool:
    example = load_feeder(EXAMPLE)
    buses = [b for b in example.bus_ids if b != 0]
    feeder = example.with_homes({f"home-{i:05}": buses[i % len(buses)] for i in range(SMALL_HOMES)})
    orders = neighbourhood(SMALL_HOMES, rng, scale_wh=60)  # small flexible loads: nothing binds
    result = clear_network(orders, RULES, feeder, interval_seconds=QUARTER)
    assert result.method == "merit_order", result.binding
    network_ms = median_ms(
        lambda: clear_network(orders, RULES, feeder, interval_seconds=QUARTER), repeats=50
    )
    merit_ms = median_ms(lambda: clear_uniform_price(orders, RULES), repeats=50)
    ratio = network_ms / merit_ms
    ok = ratio <= SMALL_TARGET_RATIO
    print(
        f"{SMALL_HOMES} homes, example feeder, no limit binding: clear_network {network_ms:.3f} ms,"
    )
    print(
        f"  merit order {merit_ms:.3f} ms, ratio {ratio:.2f}x (target <= {SMALL_TARGET_RATIO}x) ",
        end="",
    )
    print("PASS" if ok else "FAIL")
    return ok


def large_case(rng: np.random.Generator) -> bool:
    feeder = radial_feeder(LARGE_BUSES, LARGE_HOMES, rng)
    orders = neighbourhood(LARGE_HOMES, rng, scale_wh=2000)

    def run() -> NetworkClearing:
        return clear_network(orders, RULES, feeder, interval_seconds=QUARTER)

    result = run()
    assert result.method == "lp" and result.lp is not None
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - start) * 1000)
    total_ms = statistics.median(samples)
    merit_ms = median_ms(lambda: clear_uniform_price(orders, RULES), repeats=7)
    lp = result.lp
    assert lp is not None
    ok = total_ms < LARGE_TARGET_MS
    steps = sum(len(o.buy) + len(o.sell) for o in orders)
    print(f"{LARGE_HOMES} homes ({steps} steps), {LARGE_BUSES}-bus feeder, binding limits:")
    print(f"  LP {lp.columns} columns x {lp.rows} rows, {lp.nonzeros} non-zeros; ", end="")
    print(f"build {lp.build_s * 1000:.1f} ms, solve {lp.solve_s * 1000:.1f} ms")
    print(f"  merit order {merit_ms:.1f} ms; end to end {total_ms:.1f} ms ", end="")
    print(f"(target < {LARGE_TARGET_MS:.0f} ms) {'PASS' if ok else 'FAIL'}")
    kinds = [b.kind for b in result.binding]
    print(
        f"  {len(kinds)} binding limits ({kinds.count('thermal')} thermal, "
        f"{kinds.count('voltage_max')} over-voltage, {kinds.count('voltage_min')} under-voltage); "
        f"curtailed {sum(c.buy_wh + c.sell_wh for c in result.curtailment)} Wh at "
        f"{len(result.curtailment)} homes; system price {result.clearing.price}"
    )
    return ok


def example_scenarios(feeder: Feeder) -> list[list[Order]]:
    """Noon: two homes in three export 8.8 kW; evening: every home draws, EVs on one run."""
    noon, evening = [], []
    for i, (home, bus) in enumerate(sorted(feeder.homes.items())):
        if i % 3 == 0:
            noon.append(Order(home, (Step(28, 600), Step(20, 400)), ()))
        else:
            noon.append(Order(home, (), (Step(6, 1800), Step(12, 400))))
        ev = (Step(35, 2000),) if bus <= 12 else ()
        evening.append(Order(home, (Step(200, 400), *ev), ()))
    return [noon, evening]


def ac_error(rng: np.random.Generator) -> None:
    """Largest |V_LinDistFlow - V_AC| on the example feeder: random load and export profiles, and
    the dispatches clear_network returns when the network binds."""
    try:
        from hub.grid.ac_check import ac_power_flow
    except ImportError:
        print("LinDistFlow vs AC: pandapower not installed, skipped")
        return
    feeder = load_feeder(EXAMPLE)
    profiles = []
    for case in range(40):
        load = (1 if case % 2 == 0 else -1) * rng.uniform(0.0, 14.0, feeder.tree.size)
        load[0] = 0.0
        profiles.append(load)
    worst = max(
        float(np.abs(sweep(feeder, p).voltage_pu - ac_power_flow(feeder, p).voltage_pu).max())
        for p in profiles
    )
    cleared = 0.0
    for orders in example_scenarios(feeder):
        result = clear_network(orders, RULES, feeder, interval_seconds=QUARTER)
        assert result.method == "lp" and result.flow is not None
        load = np.zeros(feeder.tree.size)
        for a in result.clearing.allocations:
            net = a.bought_local_wh + a.bought_grid_wh - a.sold_local_wh - a.sold_grid_wh
            load[feeder.position_of(feeder.homes[a.home_id])] += net * 3.6 / QUARTER
        error = result.flow.voltage_pu - ac_power_flow(feeder, load).voltage_pu
        cleared = max(cleared, float(np.abs(error).max()))
    print("LinDistFlow vs AC (pandapower) on the example feeder, largest voltage error:")
    print(f"  40 load/export profiles up to 7 kW per home: {worst:.4f} p.u.;", end="")
    print(f" congested noon and evening clearings: {cleared:.4f} p.u.")


def main() -> int:
    rng = np.random.default_rng(SEED)
    ok = small_case(rng)
    ok = large_case(rng) and ok
    ac_error(rng)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
