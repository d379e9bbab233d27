"""`gridcoop-hub statements YYYY-MM [--home ID] [--csv | --json]`: the month's money, read from
the hub's database (safe while the hub runs: reads only).

Without --home: the community summary (every home and the community's totals, checked to
balance). With --home: that home's statement, the same document the home downloads itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from hub.config import load_config
from hub.ledger.accounts.statements import statement_csv
from hub.ops.database import OpsError
from hub.service import monthly, settings
from hub.startup import open_store

EXIT_UNBALANCED = 1


def run(args: argparse.Namespace) -> int:
    problem = monthly.month_error(args.month)
    if problem is not None:
        raise OpsError(problem)
    text, status = asyncio.run(_render(args))
    print(text, end="")
    return status


async def _render(args: argparse.Namespace) -> tuple[str, int]:
    store = await open_store(args.db, must_exist=True)  # never an empty database by mistake
    try:
        # The settings the dashboard stored override the file, as in the running hub.
        config = settings.apply_stored(load_config(args.config), await store.get_settings())
        if args.home is not None:
            try:
                doc = await monthly.home_statement(store, config, args.month, args.home)
            except monthly.UnknownHome as err:
                raise OpsError(f"no home {args.home!r} in {args.db}") from err
            if args.csv:
                return statement_csv(doc), 0
            if args.json:
                return json.dumps(doc, indent=1) + "\n", 0
            return monthly.statement_text(doc), 0
        summary = await monthly.summary(store, config, args.month)
    finally:
        await store.close()
    status = EXIT_UNBALANCED if summary.problems() else 0
    if args.csv:
        return monthly.summary_csv(summary), status
    if args.json:
        return json.dumps(summary.to_wire(), indent=1) + "\n", status
    return monthly.summary_text(summary), status
