"""The operator's money side of a month: each home's statement and the community summary.

- A home's statement is the one the home itself gets (GET /api/v1/ledger/statements/{month}):
  hub.ledger.accounts.statements over the ledger's settlements. The same code serves the CLI
  (`gridcoop-hub statements`) and the admin API.
- The community summary adds up the market's allocations of every interval cleared in the month,
  per home and for the community: energy bought and sold locally, grid import and export, money
  paid and received (split into the local market and the grid at the interval's tariff) and fees.
  Amounts stay in exact milli-minor units, so the summary balances exactly, hence to the cent:
  the homes add up to the community totals, which the intervals table records independently,
  and what buyers paid for local energy equals what sellers received plus the fees (plus the
  congestion rent when a feeder priced the trades by bus).

Months are calendar months in the tariff's timezone, as for the statements.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors
from sqlalchemy import func, select

from hub.config import HubConfig
from hub.ledger.accounts.statements import MONTH_PATTERN, month_bounds, statement
from hub.store import Store, schema
from hub.store.ledger_store import LedgerStore

COMMUNITY = "community"


class UnknownHome(LookupError):
    """No home with this id was ever enrolled."""


@dataclass(frozen=True, slots=True)
class MonthTotals:
    """One home's (or the community's) month. Energy in Wh, money in milli-minor units."""

    intervals: int
    bought_local_wh: int
    sold_local_wh: int
    grid_import_wh: int
    grid_export_wh: int
    paid_mminor: int  # everything paid: local energy with its fee, grid energy at retail
    received_mminor: int  # everything received: local energy less its fee, grid at feed-in
    paid_grid_mminor: int  # grid import x the interval's retail price
    received_grid_mminor: int  # grid export x the interval's feed-in price
    fees_mminor: int  # the fees in paid (buying) and deducted from received (selling)

    @property
    def paid_local_mminor(self) -> int:
        """Paid for local energy, fees (and a feeder's congestion charges) included."""
        return self.paid_mminor - self.paid_grid_mminor

    @property
    def received_local_mminor(self) -> int:
        return self.received_mminor - self.received_grid_mminor

    @property
    def net_mminor(self) -> int:
        """Received minus paid: what the home gained (negative: what it owes)."""
        return self.received_mminor - self.paid_mminor

    def to_wire(self) -> dict[str, int]:
        return {
            **asdict(self),
            "paid_local_mminor": self.paid_local_mminor,
            "received_local_mminor": self.received_local_mminor,
            "net_mminor": self.net_mminor,
        }


@dataclass(frozen=True, slots=True)
class HomeMonth:
    home_id: str
    name: str
    totals: MonthTotals


@dataclass(frozen=True, slots=True)
class CommunityMonth:
    """The intervals table's own totals for the month: what the homes must add up to."""

    intervals: int
    volume_wh: int  # local energy traded: bought locally = sold locally = volume
    grid_import_wh: int
    grid_export_wh: int
    fees_mminor: int
    congestion_rent_mminor: int


@dataclass(frozen=True, slots=True)
class MonthSummary:
    month: str
    currency: str
    timezone: str
    start: int  # UTC seconds, first interval start of the month
    end: int  # UTC seconds, first interval start after the month
    homes: tuple[HomeMonth, ...]
    community: CommunityMonth

    @property
    def totals(self) -> MonthTotals:
        """The homes added up, column by column."""
        columns = [f.name for f in fields(MonthTotals)]
        sums = {name: sum(getattr(h.totals, name) for h in self.homes) for name in columns}
        sums["intervals"] = self.community.intervals
        return MonthTotals(**sums)

    def problems(self) -> list[str]:
        """Where the summary does not balance (empty when it does, as it always should)."""
        totals, community = self.totals, self.community
        found = []
        checks = [
            ("bought locally", totals.bought_local_wh, community.volume_wh),
            ("sold locally", totals.sold_local_wh, community.volume_wh),
            ("grid import", totals.grid_import_wh, community.grid_import_wh),
            ("grid export", totals.grid_export_wh, community.grid_export_wh),
            ("fees", totals.fees_mminor, community.fees_mminor),
            (
                "paid locally",
                totals.paid_local_mminor,
                totals.received_local_mminor
                + community.fees_mminor
                + community.congestion_rent_mminor,
            ),
        ]
        for what, homes, expected in checks:
            if homes != expected:
                found.append(f"{what}: homes add up to {homes}, the community has {expected}")
        return found

    def to_wire(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "currency": self.currency,
            "timezone": self.timezone,
            "start": self.start,
            "end": self.end,
            "homes": [
                {"home_id": h.home_id, "name": h.name, **h.totals.to_wire()} for h in self.homes
            ],
            "community": {
                **self.totals.to_wire(),
                "congestion_rent_mminor": self.community.congestion_rent_mminor,
            },
            "balanced": not self.problems(),
        }


def bounds(config: HubConfig, month: str) -> tuple[int, int]:
    """[start, end) of a "YYYY-MM" month in UTC seconds; LedgerError(malformed) otherwise."""
    problem = month_error(month)
    if problem is not None:
        raise LedgerError(errors.MALFORMED, problem)
    return month_bounds(month, config.tariff.timezone)


async def summary(store: Store, config: HubConfig, month: str) -> MonthSummary:
    start, end = bounds(config, month)
    homes = await _home_totals(store, start, end)
    community = await _community(store, start, end)
    return MonthSummary(
        month, config.currency, config.tariff.timezone, start, end, homes, community
    )


async def home_statement(
    store: Store, config: HubConfig, month: str, home_id: str
) -> dict[str, Any]:
    """The home's statement (GET /api/v1/ledger/statements/{month} serves the home its own
    through this too); UnknownHome if the home was never enrolled."""
    start, end = bounds(config, month)
    if await store.get_home(home_id) is None:
        raise UnknownHome(home_id)
    ledger = LedgerStore(store)
    return statement(
        home_id,
        month,
        config.currency,
        await ledger.balance_before(home_id, start),
        await ledger.settlements(home_id, start, end),
    )


async def _home_totals(store: Store, start: int, end: int) -> tuple[HomeMonth, ...]:
    a, iv, homes = schema.allocations.c, schema.intervals.c, schema.homes.c
    query = (
        select(
            a.home_id,
            func.max(homes.name),
            func.count(),
            func.sum(a.bought_local_wh),
            func.sum(a.sold_local_wh),
            func.sum(a.bought_grid_wh),
            func.sum(a.sold_grid_wh),
            func.sum(a.paid_mminor),
            func.sum(a.received_mminor),
            func.sum(a.bought_grid_wh * iv.retail_price),
            func.sum(a.sold_grid_wh * iv.feed_in_price),
            func.sum(a.fees_mminor),
        )
        .join(schema.intervals, iv.interval_start == a.interval_start)
        .outerjoin(schema.homes, homes.home_id == a.home_id)
        .where(a.interval_start >= start, a.interval_start < end)
        .group_by(a.home_id)
        .order_by(a.home_id)
    )
    async with store._engine.connect() as conn:  # read-only aggregate, like dashboard_queries
        rows = (await conn.execute(query)).all()
    return tuple(
        HomeMonth(str(row[0]), str(row[1] or ""), MonthTotals(*(_int(v) for v in row[2:])))
        for row in rows
    )


async def _community(store: Store, start: int, end: int) -> CommunityMonth:
    iv = schema.intervals.c
    query = select(
        func.count(),
        func.sum(iv.volume_wh),
        func.sum(iv.grid_import_wh),
        func.sum(iv.grid_export_wh),
        func.sum(iv.fees_mminor),
        func.sum(iv.congestion_rent_mminor),
    ).where(iv.interval_start >= start, iv.interval_start < end)
    async with store._engine.connect() as conn:
        row = (await conn.execute(query)).one()
    return CommunityMonth(*(_int(value) for value in row))


def _int(value: Any) -> int:
    """SUM() gives int on SQLite and Decimal on PostgreSQL; None for no rows."""
    return int(value or 0)


# -- presentation ---------------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "home_id",
    "name",
    "intervals",
    "bought_local_wh",
    "sold_local_wh",
    "grid_import_wh",
    "grid_export_wh",
    "paid_local_minor",
    "received_local_minor",
    "fees_minor",
    "paid_grid_minor",
    "received_grid_minor",
    "paid_minor",
    "received_minor",
    "net_minor",
)


def minor(mminor: int) -> str:
    """Milli-minor units as exact minor units with three decimals: 12345 -> "12.345"."""
    sign = "-" if mminor < 0 else ""
    whole, fraction = divmod(abs(mminor), 1000)
    return f"{sign}{whole}.{fraction:03d}"


def summary_rows(doc: MonthSummary) -> list[dict[str, Any]]:
    """One row per home, then the community's (home_id "community")."""
    rows = [_row(h.home_id, h.name, h.totals) for h in doc.homes]
    rows.append(_row(COMMUNITY, "", doc.totals))
    return rows


def _row(home_id: str, name: str, totals: MonthTotals) -> dict[str, Any]:
    wire = totals.to_wire()
    row: dict[str, Any] = {"home_id": home_id, "name": _text_cell(name)}
    for column in SUMMARY_COLUMNS[2:]:
        if column.endswith("_minor"):
            row[column] = minor(wire[column.removesuffix("_minor") + "_mminor"])
        else:
            row[column] = wire[column]
    return row


def _text_cell(text: str) -> str:
    """A name as a spreadsheet cell that is never a formula (=, +, -, @ start one)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary_csv(doc: MonthSummary) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary_rows(doc))
    return out.getvalue()


def summary_text(doc: MonthSummary) -> str:
    """A table for the terminal: energy in kWh, money in minor units."""
    header = (
        f"{'home':<18} {'bought':>9} {'sold':>9} {'import':>9} {'export':>9} "
        f"{'paid':>12} {'received':>12} {'fees':>10} {'net':>12}"
    )
    lines = [
        f"Community summary {doc.month} ({doc.timezone}), {doc.community.intervals} intervals; "
        f"energy kWh, money {doc.currency} minor units",
        header,
        "-" * len(header),
    ]
    entries = [(h.name or h.home_id, h.totals) for h in doc.homes]
    for index, (label, totals) in enumerate([*entries, ("community", doc.totals)]):
        if index == len(entries):
            lines.append("-" * len(header))
        lines.append(
            f"{label[:18]:<18} {_kwh(totals.bought_local_wh):>9} {_kwh(totals.sold_local_wh):>9} "
            f"{_kwh(totals.grid_import_wh):>9} {_kwh(totals.grid_export_wh):>9} "
            f"{minor(totals.paid_mminor):>12} {minor(totals.received_mminor):>12} "
            f"{minor(totals.fees_mminor):>10} {minor(totals.net_mminor):>12}"
        )
    totals = doc.totals
    lines.append(
        f"local market: paid {minor(totals.paid_local_mminor)} = received "
        f"{minor(totals.received_local_mminor)} + fees {minor(doc.community.fees_mminor)}"
        + (
            f" + congestion rent {minor(doc.community.congestion_rent_mminor)}"
            if doc.community.congestion_rent_mminor
            else ""
        )
    )
    problems = doc.problems()
    lines.append("balanced: yes" if not problems else "NOT BALANCED: " + "; ".join(problems))
    return "\n".join(lines) + "\n"


def _kwh(wh: int) -> str:
    return f"{wh / 1000:.3f}"


def statement_text(doc: dict[str, Any]) -> str:
    """A home's statement for the terminal."""
    lines = [
        f"Statement {doc['month']} for home {doc['home_id']} ({doc['currency']} minor units)",
        f"opening balance {doc['opening_balance_minor']}, closing balance "
        f"{doc['closing_balance_minor']}, total {doc['total_amount_minor']} over "
        f"{doc['intervals']} settled intervals",
    ]
    if not doc["lines"]:
        lines.append(
            "no settled intervals (statements come from the ledger's settlements; "
            "a hub run with --no-ledger has none)"
        )
    for line in doc["lines"]:
        lines.append(
            f"{line['interval_start_utc']}  in {line['allocated_in_wh']:>7} Wh  out "
            f"{line['allocated_out_wh']:>7} Wh  imbalance {line['imbalance_wh']:>6} Wh  "
            f"amount {line['amount_minor']:>7}  balance {line['balance_minor']:>8}"
        )
    return "\n".join(lines) + "\n"


def month_error(month: str) -> str | None:
    """Why `month` is not a month the statements accept (YYYY-MM, 1970-01 to 2999-12), or None."""
    if not re.fullmatch(MONTH_PATTERN, month):
        return f"month must be YYYY-MM (1970-01 to 2999-12), not {month!r}"
    return None
