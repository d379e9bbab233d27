"""`python -m hub simulate`: run the neighbourhood simulation and write its report.

hub/cli.py registers it with `add_parser(subparsers)` and calls `run(args)`. Heavy imports
(pandas, pvlib, matplotlib, the planner) wait until the command actually runs.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="simulate a neighbourhood (planner, market, ledger) and write a report",
        description="Compare (A) a fixed tariff, (B) the planner alone and (C) the planner with "
        "the local market on the same weather and loads; write report.md and plots.",
    )
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 5, 4),
        help="first day, YYYY-MM-DD (default 2026-05-04)",
    )
    parser.add_argument("--mode", choices=("periodic", "continuous"), default="periodic")
    parser.add_argument(
        "--feeder",
        type=Path,
        default=None,
        help="feeder file (GridCoop JSON/YAML or pandapower JSON): clear within its limits",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="hub.toml for tariffs, fee and k (default: the hub's defaults)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("sim-report"),
        help="where report.md and the plots go (default ./sim-report)",
    )
    parser.add_argument(
        "--keep-db",
        type=Path,
        default=None,
        help="keep the hub's SQLite database and ledger key in this folder",
    )
    parser.add_argument("--workers", type=int, default=2, help="home-side processes")
    parser.add_argument("--latitude", type=float, default=52.5)
    parser.add_argument("--longitude", type=float, default=13.4)
    parser.add_argument("--timezone", default="Europe/Berlin")
    return parser


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    if getattr(args, "log_level", "info") == "info":
        # The clearing service logs every interval it clears: 2,880 lines a month of simulated
        # time. The progress lines say enough; warnings (a fallback to the grid) still show.
        logging.getLogger("hub.service.clearing").setLevel(logging.WARNING)

    from hub.config import load_config
    from hub.sim.config import SimConfig
    from hub.sim.engine import simulate
    from hub.sim.report import write_report

    config = SimConfig(
        homes=args.homes,
        days=args.days,
        seed=args.seed,
        start=args.start,
        mode=args.mode,
        feeder=args.feeder,
        hub=load_config(args.config),
        workers=args.workers,
        latitude=args.latitude,
        longitude=args.longitude,
        timezone=args.timezone,
        data_dir=args.keep_db,
    )
    result = asyncio.run(simulate(config, lambda line: print(line, flush=True)))
    path = write_report(result, args.out)
    t = result.timings
    slots = result.calendar.slots
    print(f"report: {path}")
    print(
        f"{t['total']:.0f} s; per interval: homes {1000 * t['homes'] / slots:.0f} ms, "
        f"clearing {1000 * (t['bids'] + t['clearing']) / slots:.1f} ms, ledger "
        f"{1000 * (t['seal'] + t['readings'] + t['retirements']) / slots:.1f} ms"
    )
    return 0
