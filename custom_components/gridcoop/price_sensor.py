"""The price the home's plan expects per slot, published for the optimisers people already run.

State: the expected price of a kWh bought now (currency/kWh). Attributes: the Nord Pool (HACS)
layout (`raw_today`, `raw_tomorrow`, `today`, `tomorrow`, `current_price`...), which EMHASS,
Predbat and evcc already read (docs/home_assistant.md has a configuration for each). The slots
of today that earlier plans covered are kept, so `raw_today` also holds the hours already gone;
where the hub cleared a 15-minute interval, its cleared price replaces the expectation (a home on
a hub plans from the next open interval, so the interval under way is known this way).
The lists are too large for the recorder and are not recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridcoop_home.sources import UNRECORDED_ATTRIBUTES, nordpool_attributes
from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from .coordinator import HomeCoordinator
from .data import GridCoopConfigEntry
from .entity import GridCoopCoordinatorEntity
from .money import MINOR_PER_MAJOR
from .planning import SLOT


class ExpectedPrice(GridCoopCoordinatorEntity[HomeCoordinator], SensorEntity):
    _attr_translation_key = "expected_price"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 4
    _unrecorded_attributes = UNRECORDED_ATTRIBUTES

    def __init__(
        self, coordinator: HomeCoordinator, entry: GridCoopConfigEntry, currency: str
    ) -> None:
        super().__init__(coordinator, entry, "expected_price")
        self._currency = currency.upper()
        self._attr_native_unit_of_measurement = f"{self._currency}/kWh"
        self._known: dict[datetime, float] = {}  # slot start (UTC) -> minor units per kWh
        self._remember()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._remember()
        super()._handle_coordinator_update()

    def _remember(self) -> None:
        """Add the newest plan's slots; forget those before today's local midnight."""
        state = self.coordinator.data
        if state.plan is not None:
            schedule = state.plan.schedule
            self._known.update(zip(schedule.starts, schedule.buy_price, strict=True))
        hub = self.runtime.hub
        market = hub.market.data if hub is not None else None
        if market is not None and market.interval_seconds == SLOT.total_seconds():
            self._known.update(
                (dt_util.utc_from_timestamp(start), float(interval.price))
                for start, interval in market.intervals.items()
                if interval.price is not None
            )
        midnight = dt_util.start_of_local_day()
        self._known = {t: p for t, p in self._known.items() if t >= midnight}

    def _run(self) -> tuple[datetime, list[float]] | None:
        """The consecutive slots that end with the newest plan."""
        if not self._known:
            return None
        starts = sorted(self._known, reverse=True)
        run = [starts[0]]
        for start in starts[1:]:
            if run[-1] - start != SLOT:
                break
            run.append(start)
        run.reverse()
        return run[0], [self._known[t] for t in run]

    @property
    def native_value(self) -> float | None:
        now = dt_util.utcnow()
        slot = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        price = self._known.get(slot)
        return None if price is None else round(price / MINOR_PER_MAJOR, 5)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        if (run := self._run()) is None:
            return None
        start, prices = run
        return nordpool_attributes(
            start,
            prices,
            currency=self._currency,
            now=dt_util.utcnow(),
            tz=dt_util.get_default_time_zone(),
            minor_per_major=MINOR_PER_MAJOR,
        )
