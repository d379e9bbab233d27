"""Neighbourhood simulation benchmark: 200 homes x 30 days at 15 minutes (2,880 intervals).

Gate: the whole run (three worlds, the real planner, market, ledger and settlement on a SQLite
file) finishes in under 10 minutes on the 2-core development machine. Prints the time per
interval split into the homes' side (planning, bidding, physics, signing: what the hub process
waits for), clearing and ledger. Needs the native BLS backend (`pip install '.[ledger-native]'`):
with py-ecc alone a block signature costs about 0.1 s, 5 minutes over 2,880 blocks.
Run: .venv/bin/python bench/bench_sim.py [--homes 200] [--days 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.sim import SimConfig, simulate

TARGET_S = 600.0
FULL_INTERVALS = 2_880


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    config = SimConfig(homes=args.homes, days=args.days, seed=1)
    result = asyncio.run(simulate(config, lambda line: print(line, flush=True)))
    t = result.timings
    slots = result.calendar.slots
    ledger = t["seal"] + t["readings"] + t["retirements"]
    print(
        f"{args.homes} homes x {args.days} days = {slots} intervals in {t['total']:.0f} s, "
        f"{result.plans:,} planner solves"
    )
    print("per interval (ms, hub process wall time):")
    print(f"  planning + bidding (homes' side, waited for): {1000 * t['homes'] / slots:7.1f}")
    print(
        f"  clearing (bids stored, market, records):       "
        f"{1000 * (t['bids'] + t['clearing']) / slots:7.1f}"
    )
    print(
        f"  ledger (seal {1000 * t['seal'] / slots:.1f}, readings "
        f"{1000 * t['readings'] / slots:.1f}, retirements {1000 * t['retirements'] / slots:.1f}): "
        f"{1000 * ledger / slots:7.1f}"
    )
    print(f"  total:                                          {1000 * t['total'] / slots:7.1f}")
    projected = t["total"] / slots * FULL_INTERVALS
    verdict = "PASS" if projected < TARGET_S else "FAIL"
    scope = "" if slots == FULL_INTERVALS else f" (projected from {slots} intervals)"
    print(f"{verdict}: 2,880 intervals take {projected:.0f} s{scope}, target {TARGET_S:.0f} s")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
