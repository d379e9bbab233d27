"""The home's own account of its allocations: balance, traded energy, savings per day and month.

Money is kept in the hub's milli-minor units (1/1000 of a cent for EUR) as integers, so sums are
exact. Each allocation is counted once, also across restarts (its interval start is remembered).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gridcoop_home.protocol.allocation import Allocation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN

STORAGE_VERSION = 1
KEEP_SEEN = 500  # more than 5 days of 15-minute intervals: beyond the hub's results window
KEEP_DAYS = 40


def savings_mminor(allocation: Allocation, retail: int, feed_in: int) -> int:
    """What the same energy would have cost with the grid alone, minus what it did cost."""
    bought = allocation.bought_local_wh + allocation.bought_grid_wh
    sold = allocation.sold_local_wh + allocation.sold_grid_wh
    grid_only = bought * retail - sold * feed_in  # Wh x minor/kWh = milli-minor
    return grid_only - (allocation.paid_mminor - allocation.received_mminor)


def _day_and_month(interval_start: int) -> tuple[str, str]:
    local = dt_util.as_local(datetime.fromtimestamp(interval_start, UTC))
    return local.date().isoformat(), local.strftime("%Y-%m")


class AllocationBook:
    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.book"
        )
        self.seen: list[int] = []
        self.balance_mminor = 0
        self.days: dict[str, dict[str, int]] = {}
        self.months: dict[str, dict[str, int]] = {}

    async def async_load(self) -> None:
        if (data := await self._store.async_load()) is not None:
            self.seen = data["seen"]
            self.balance_mminor = data["balance_mminor"]
            self.days = data["days"]
            self.months = data["months"]

    def _data(self) -> dict[str, Any]:
        return {
            "seen": self.seen,
            "balance_mminor": self.balance_mminor,
            "days": self.days,
            "months": self.months,
        }

    def add(self, allocation: Allocation, retail: int, feed_in: int) -> bool:
        """Count an allocation; False when it was already counted."""
        start = allocation.interval_start
        if start in self.seen:
            return False
        self.seen = sorted([*self.seen, start])[-KEEP_SEEN:]
        net = allocation.received_mminor - allocation.paid_mminor
        self.balance_mminor += net
        day_key, month_key = _day_and_month(start)
        saved = savings_mminor(allocation, retail, feed_in)
        day = self.days.setdefault(
            day_key, {"traded_wh": 0, "savings_mminor": 0, "spent_mminor": 0}
        )
        day["traded_wh"] += allocation.bought_local_wh + allocation.sold_local_wh
        day["savings_mminor"] += saved
        day["spent_mminor"] += max(0, -net)
        self.months.setdefault(month_key, {"savings_mminor": 0})["savings_mminor"] += saved
        for old in sorted(self.days)[:-KEEP_DAYS]:
            del self.days[old]
        self._store.async_delay_save(self._data, 5)
        return True

    def today(self, key: str) -> int:
        """A field of today's totals (0 when nothing happened today)."""
        day_key = dt_util.now().date().isoformat()
        return self.days.get(day_key, {}).get(key, 0)

    def this_month_savings(self) -> int:
        return self.months.get(dt_util.now().strftime("%Y-%m"), {}).get("savings_mminor", 0)

    async def async_save(self) -> None:
        await self._store.async_save(self._data())
