"""Neighbourhood simulation benchmark: 200 homes x 30 days at 15 minutes (2,880 intervals).

Gate: the whole run (three worlds, the real planner, market, ledger and settlement on a SQLite
file) finishes in under 10 minutes on the 2-core development machine. Prints the wall time per
interval of each part of the hub's work (bids through the bid route's checks and Store.save_bid,
clearing, the ledger's seal, reading uploads, retirements) and how long the hub waited for the
homes (planning, bidding, physics, signing in the worker processes; they work while the hub
seals and takes readings, so little of it should show), then the CPU time per interval of the
hub process (all its threads), of its signature checks and of the workers: the two cores bound
a run by the sum of those over two. Wall times move with whatever else runs on the machine; the
load average is printed at the start and the end, and the CPU times are the figures to compare
between runs. The hub's database goes to /dev/shm when there is room (see
hub.sim.engine.scratch_dir). Needs the native BLS backend (`pip install '.[ledger-native]'`):
with py-ecc alone a block signature costs about 0.1 s, 5 minutes over 2,880 blocks.
Run: .venv/bin/python bench/bench_sim.py [--homes 200] [--days 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.sim import SimConfig, simulate

TARGET_S = 600.0
FULL_INTERVALS = 2_880


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    config = SimConfig(homes=args.homes, days=args.days, seed=1)
    print(f"load average at the start: {load()} ({os.cpu_count()} CPUs)", flush=True)
    result = asyncio.run(simulate(config, lambda line: print(line, flush=True)))
    t = result.timings
    slots = result.calendar.slots

    def ms(seconds: float) -> str:
        return f"{1000 * seconds / slots:7.1f}"

    hub_work = sum(t[part] for part in ("bids", "clearing", "seal", "readings", "retirements"))
    print(f"load average at the end:   {load()}")
    print(
        f"{args.homes} homes x {args.days} days = {slots} intervals in {t['total']:.0f} s, "
        f"{result.plans:,} planner solves"
    )
    print("wall time per interval (ms):")
    print(f"  bids (route checks, Store.save_bid):            {ms(t['bids'])}")
    print(f"  clearing (ClearingService.clear, no seal):      {ms(t['clearing'])}")
    print(f"  ledger seal:                                    {ms(t['seal'])}")
    print(f"  reading uploads (signatures, ingest):           {ms(t['readings'])}")
    print(f"  certificate retirements:                        {ms(t['retirements'])}")
    print(f"  hub work, all of the above:                     {ms(hub_work)}")
    print(f"  waiting for the homes (worker processes):       {ms(t['homes'])}")
    print(f"  total:                                          {ms(t['total'])}")
    print("CPU time per interval (ms):")
    print(f"  hub process (event loop, database threads):          {ms(t['hub_cpu'])}")
    print(f"  hub's signature checks (two helper processes):       {ms(t['checks_cpu'])}")
    print(f"  workers, world C in lockstep with the hub:           {ms(t['homes_cpu_c'])}")
    print(f"  workers, worlds A and B in their idle time:          {ms(t['homes_cpu_ab'])}")
    all_cpu = t["hub_cpu"] + t["checks_cpu"] + t["homes_cpu_c"] + t["homes_cpu_ab"]
    print(f"  all processes:                                       {ms(all_cpu)}")
    projected = t["total"] / slots * FULL_INTERVALS
    verdict = "PASS" if projected < TARGET_S else "FAIL"
    scope = "" if slots == FULL_INTERVALS else f" (projected from {slots} intervals)"
    print(f"{verdict}: 2,880 intervals take {projected:.0f} s{scope}, target {TARGET_S:.0f} s")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
