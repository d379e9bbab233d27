"""Monthly statements per home: every settled interval of the month, in JSON and CSV.

Months are calendar months in the hub's timezone. Amounts per line are minor units (the floor
differences of the exact milli-minor balance, see hub.ledger.accounts.settlement), so the lines add
up to
closing minus opening balance exactly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# What the API accepts (its OpenAPI documents); month_bounds itself reads any YYYY-MM from 0001.
MONTH_PATTERN = "^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"
CSV_COLUMNS = (
    "interval_start",
    "interval_start_utc",
    "metered",
    "taken_wh",
    "delivered_wh",
    "allocated_in_wh",
    "allocated_out_wh",
    "market_mminor",
    "imbalance_wh",
    "imbalance_mminor",
    "amount_minor",
    "balance_minor",
)


def month_bounds(month: str, timezone: str) -> tuple[int, int]:
    """[start, end) of a "YYYY-MM" month in UTC seconds."""
    match = MONTH.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise LedgerError(errors.MALFORMED, "month must be YYYY-MM")
    year, number = int(match.group(1)), int(match.group(2))
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return int(start.timestamp()), int(end.timestamp())


def statement(
    home_id: str,
    month: str,
    currency: str,
    opening_mminor: int,
    rows: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    lines = [{name: row[name] for name in CSV_COLUMNS if name in row} for row in rows]
    for line in lines:
        line["interval_start_utc"] = _iso(line["interval_start"])
    closing = rows[-1]["balance_mminor"] if rows else opening_mminor
    return {
        "home_id": home_id,
        "month": month,
        "currency": currency,
        "opening_balance_minor": opening_mminor // 1000,
        "closing_balance_minor": closing // 1000,
        "total_amount_minor": sum(row["amount_minor"] for row in rows),
        "intervals": len(rows),
        "lines": lines,
    }


def statement_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in doc["lines"]:
        writer.writerow({name: _csv_value(line.get(name)) for name in CSV_COLUMNS})
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def _iso(utc_seconds: int) -> str:
    return datetime.fromtimestamp(utc_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
