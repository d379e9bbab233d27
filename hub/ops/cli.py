"""The operator commands' arguments (`statements`, `backup`, `restore`) and their dispatch.

Light on purpose: building the parser imports nothing heavy; each command imports its module
only when it runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.store.connections import DEFAULT_DB_URL

COMMANDS = ("statements", "backup", "restore")
EXIT_ERROR = 2


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _statements(sub)


def run(args: argparse.Namespace) -> int:
    """Run an operator command; a refusal is printed (no traceback) with exit status 2."""
    from hub.ops.database import OpsError

    try:
        if args.command == "statements":
            from hub.ops import statements

            return statements.run(args)
    except OpsError as err:
        print(f"error: {err}")
        return EXIT_ERROR
    raise AssertionError(f"not an operator command: {args.command}")


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB_URL, help=f"database URL ({DEFAULT_DB_URL})")


def _statements(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "statements",
        help="the month's community summary, or one home's statement (--home)",
        description="Months are calendar months in the tariff's timezone. Money is in minor "
        "units (cents for EUR); the summary keeps three decimals, exactly. Reads only: safe "
        "while the hub runs.",
    )
    parser.add_argument("month", help="YYYY-MM, e.g. 2026-11")
    parser.add_argument("--home", metavar="HOME_ID", help="one home's statement")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="CSV instead of a table")
    output.add_argument("--json", action="store_true", help="JSON, as the admin API answers")
    _db_option(parser)
    parser.add_argument(
        "--config", type=Path, help="the hub's TOML file (its currency and tariff timezone)"
    )
