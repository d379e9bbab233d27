"""`gridcoop-hub community ...`: list members and plants, import DSO data, reconcile it with the
hub's signed readings, export the quarter-hour allocation.

hub/cli.py registers the command with `add_parser(subparsers)` and calls `run(args)`.
Exit codes: 0 fine, 1 findings (conflicts on import, differences on reconcile), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hub.community import dso
from hub.community.config import CommunityFile, load_community
from hub.community.export import allocation_csv
from hub.community.model import Community, CommunityError, Direction, month_bounds
from hub.store import DEFAULT_DB_URL

EXIT_FINDINGS, EXIT_BAD_INPUT = 1, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "community",
        help="energy-sharing community: members, plants, DSO data, allocation (docs/community.md)",
    )
    sub = parser.add_subparsers(dest="community_command", required=True)
    sub.add_parser("members", help="check community.toml and list its members")
    sub.add_parser("plants", help="check community.toml and list its plants and owners")
    imp = sub.add_parser("import-dso", help="import the DSO's 15-minute values (never overwrites)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", choices=dso.FORMATS, default="gridcoop")
    imp.add_argument("--metering-point", help="at-portal: the metering point the file is for")
    imp.add_argument("--direction", choices=[d.value for d in Direction])
    rec = sub.add_parser("reconcile", help="compare DSO values with the hub's signed readings")
    rec.add_argument("--db", default=DEFAULT_DB_URL, help=f"hub database ({DEFAULT_DB_URL})")
    rec.add_argument("--tolerance-wh", type=int, default=0)
    rec.add_argument("--max-gap-minutes", type=int, default=60)
    exp = sub.add_parser("export-allocation", help="per-member, per-quarter-hour allocation CSV")
    exp.add_argument("--out", type=Path, help="file to write (default: standard output)")
    stm = sub.add_parser("statements", help="a month's statements per member (CSV, printable)")
    stm.add_argument("--month", required=True, help="YYYY-MM in the community's time zone")
    stm.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    stm.add_argument("--html", type=Path, help="also write a printable page per member here")
    cmp = sub.add_parser("compare", help="static, redistributing static and dynamic side by side")
    for command in (rec, exp, cmp):
        period = command.add_mutually_exclusive_group(required=True)
        period.add_argument("--month", help="YYYY-MM in the community's time zone")
        period.add_argument("--days", nargs=2, metavar=("FIRST", "LAST"), help="dates, inclusive")
    for command in sub.choices.values():
        command.add_argument(
            "--config", type=Path, default=Path("community.toml"), help="(./community.toml)"
        )
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        loaded = load_community(args.config)
        command = args.community_command
        if command == "members":
            return _members(loaded.community)
        if command == "plants":
            return _plants(loaded.community)
        if command == "import-dso":
            return _import(loaded, args)
        start, end = _period(loaded.community, args.month, getattr(args, "days", None))
        if command == "statements":
            return _statements(loaded, start, end, args)
        if command == "compare":
            return _compare(loaded, start, end)
        if command == "reconcile":
            return _reconcile(loaded, start, end, args)
        return _export(loaded, start, end, args.out)
    except CommunityError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _members(community: Community) -> int:
    total = sum((m.share for m in community.members), start=0)
    print(f"{community.name}: {len(community.members)} members, method {community.method}")
    for m in sorted(community.members, key=lambda m: m.member_id):
        key = f"{float(m.share / total):.2%}" if total else "-"
        left = m.left.isoformat() if m.left else "-"
        print(
            f"{m.member_id}  {m.metering_point}  injection={m.injection_point or '-'}  "
            f"joined={m.joined}  left={left}  static key={m.share} ({key} of all keys)"
        )
    return 0


def _plants(community: Community) -> int:
    for plant in sorted(community.plants, key=lambda p: p.plant_id):
        owners = ", ".join(f"{o} {s}" for o, s in sorted(plant.owners.items())) or "community"
        print(f"{plant.plant_id}  {plant.kind}  {plant.metering_point}  owners: {owners}")
    return 0


def _import(loaded: CommunityFile, args: argparse.Namespace) -> int:
    source = str(args.file)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CommunityError(f"{source}: cannot read: {err}") from None
    if args.format == "at-portal":
        if not args.metering_point:
            raise CommunityError("--format at-portal needs --metering-point")
        direction = Direction(args.direction) if args.direction else None
        values = dso.parse_at_portal(
            text, args.metering_point, direction, source, loaded.community.timezone
        )
    else:
        values = dso.parse_gridcoop(text, source)
    dso.check_points(values, loaded.community.metering_points(), source)
    merged, conflicts = dso.merge(dso.load_store(loaded.dso_store), values)
    dso.save_store(loaded.dso_store, merged)
    print(f"imported {len(values)} values from {source} into {loaded.dso_store}")
    for conflict in conflicts:
        print(f"conflict: {conflict}")
    if conflicts:
        print(f"{len(conflicts)} conflicting values were not imported (stored values kept)")
        return EXIT_FINDINGS
    return 0


def _reconcile(loaded: CommunityFile, start: int, end: int, args: argparse.Namespace) -> int:
    from hub.community.hub_readings import UnknownMeterError, meter_timelines
    from hub.community.reconcile import mapped_points, reconcile
    from hub.store import Store

    if args.tolerance_wh < 0 or args.max_gap_minutes < 1:
        raise CommunityError("--tolerance-wh must be >= 0 and --max-gap-minutes >= 1")
    max_gap_ms = args.max_gap_minutes * 60_000
    meters = {meter for _, _, meter in mapped_points(loaded.community)}
    if not meters:
        raise CommunityError("no member or plant has a hub_meter: nothing to reconcile")

    async def load() -> Any:
        store = await Store.open(args.db)
        try:
            return await meter_timelines(
                store, meters, start * 1000 - max_gap_ms, end * 1000 + max_gap_ms
            )
        finally:
            await store.close()

    try:
        timelines = asyncio.run(load())
    except UnknownMeterError as err:
        raise CommunityError(str(err)) from None
    values = dso.load_store(loaded.dso_store)
    findings = reconcile(
        loaded.community, values, timelines, start, end, args.tolerance_wh, max_gap_ms
    )
    for finding in findings:
        print(finding)
    print(f"{len(findings)} quarter-hours differ or are missing (tolerance {args.tolerance_wh} Wh)")
    return EXIT_FINDINGS if findings else 0


def _export(loaded: CommunityFile, start: int, end: int, out: Path | None) -> int:
    _write(allocation_csv(loaded.community, dso.load_store(loaded.dso_store), start, end), out)
    return 0


def _statements(loaded: CommunityFile, start: int, end: int, args: argparse.Namespace) -> int:
    from hub.community.export import allocations
    from hub.community.statement_files import statement_csv, statement_html
    from hub.community.statements import monthly_statement

    if loaded.prices is None:
        raise CommunityError("statements need a [community.prices] table (docs/community.md)")
    values = dso.load_store(loaded.dso_store)
    results = allocations(loaded.community, values, start, end)
    statement = monthly_statement(loaded.community, loaded.prices, results)
    problems = statement.balance_problems()
    if problems:  # cannot happen by construction; never hand out statements that do not add up
        raise CommunityError("statements do not balance: " + "; ".join(problems))
    _write(statement_csv(statement), args.out)
    if args.html is not None:
        title = f"{loaded.community.name}: statement {args.month}"
        args.html.write_text(statement_html(statement, loaded.prices, title), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _compare(loaded: CommunityFile, start: int, end: int) -> int:
    from hub.community.compare import compare_methods, report_lines

    values = dso.load_store(loaded.dso_store)
    for line in report_lines(compare_methods(loaded.community, values, start, end, loaded.prices)):
        print(line)
    return 0


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)


def _period(community: Community, month: str | None, days: list[str] | None) -> tuple[int, int]:
    try:
        if month is not None:
            year, number = (int(part) for part in month.split("-"))
            return month_bounds(year, number, community.timezone)
        assert days is not None
        first, last = (date.fromisoformat(day) for day in days)
    except ValueError:
        raise CommunityError("--month is YYYY-MM and --days two dates YYYY-MM-DD") from None
    if last < first:
        raise CommunityError("--days: the last day is before the first")
    return community.local_midnight(first), community.local_midnight(last + timedelta(days=1))
