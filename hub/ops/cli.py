"""The operator commands' arguments (`statements`, `backup`, `restore`) and their dispatch.

Light on purpose: building the parser imports nothing heavy; each command imports its module
only when it runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.store.connections import DEFAULT_DB_URL


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _statements(sub)
    _backup(sub)
    _restore(sub)


def run(args: argparse.Namespace) -> int:
    """Run an operator command; its refusals (hub.ops.database.OpsError, a StartupError) are
    raised for hub.cli.main to print as one line, exit status 2."""
    if args.command == "statements":
        from hub.ops import statements

        return statements.run(args)
    from hub.ops import backup

    if args.command == "backup":
        return backup.run_backup(args)
    return backup.run_restore(args)


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


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="the hub's TOML file (where its ledger key file is)"
    )


def _backup(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "backup",
        help="a consistent copy of the hub's database, safe while the hub runs",
        description="SQLite: one self-contained file (the WAL included) via SQLite's online "
        "backup API. PostgreSQL: runs pg_dump if it is on PATH, else prints the command. The "
        "ledger key is reported, and copied only with --include-ledger-key.",
    )
    parser.add_argument("path", help="the backup file, or a directory for a timestamped one")
    _db_option(parser)
    _config_option(parser)
    parser.add_argument(
        "--include-ledger-key",
        action="store_true",
        help="also copy the ledger's BLS key (a secret) to PATH.ledger-key, mode 0600",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing PATH")


def _restore(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "restore",
        help="put a backup in place of the hub's SQLite database, then verify the chain",
        description="Refuses a database a running hub has open, and an existing one without "
        "--force. Then runs the chain check of `gridcoop-hub verify` on the restored database.",
    )
    parser.add_argument("path", help="a backup file written by `gridcoop-hub backup`")
    _db_option(parser)
    _config_option(parser)
    parser.add_argument(
        "--force", action="store_true", help="replace an existing database (the hub stopped)"
    )
