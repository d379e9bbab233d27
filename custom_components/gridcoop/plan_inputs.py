"""What the planner plans with beyond the devices, from what Home Assistant already has.

- **Price entity** (option): its today/tomorrow series (price_entity.py) on the planner's slots
  is the home's import price, in island mode and when it trades on the hub. Slots without a price
  (tomorrow's day-ahead prices appear around 13:00 CET) get the price at the same local time on
  the latest earlier day, else the flat tariff, with a plan warning.
- **Solar forecast**: the forecasts configured in the Energy dashboard (Forecast.Solar, Solcast,
  Open-Meteo Solar Forecast, through each one's Energy platform) for the home's PV; slots they do
  not cover get the clear-sky model.
- **Carbon intensity** (option): a same-hour profile of the sensor's recorder history.

Nothing here may stop planning: a source that cannot be read leaves the planner's own default
in place, with a plan warning, and a repair issue when the owner has to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gridcoop_home.planner.clearsky import clear_sky_pv_w
from gridcoop_home.planner.forecast import DEFAULT_PV_YIELD_RATIO
from gridcoop_home.sources import (
    GapFill,
    SolarForecast,
    SourceError,
    carbon_for_slots,
    parse_energy_preferences,
    parse_solar_forecast,
    period_key_for,
    prices_for_slots,
    solar_for_slots,
)
from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.energy.websocket_api import async_get_energy_platforms
from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.history import state_changes_during_period
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CURRENCY,
    DOMAIN,
    ISSUE_INPUT_INVALID,
    LOGGER,
    OPT_CARBON_ENTITY,
    OPT_PRICE_ENTITY,
)
from .planning import HORIZON_SLOTS, SLOT
from .price_actions import ActionPrices
from .price_entity import parse_price_state

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry

CARBON_REFRESH = timedelta(hours=1)
CARBON_DAYS = 7
ON_TARIFF = "planning on the flat tariff"


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Per-slot overrides for the planner's request; None keeps the planner's default."""

    retail: tuple[float, ...] | None = None
    pv_w: tuple[float, ...] | None = None
    carbon_g_per_kwh: tuple[float, ...] | None = None
    warnings: tuple[str, ...] = ()


class PlanInputReader:
    def __init__(self, hass: HomeAssistant, entry: GridCoopConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self._carbon: list[tuple[datetime, str]] = []
        self._carbon_at: datetime | None = None
        self.currency = str(entry.data.get(CONF_CURRENCY, "EUR"))
        self._actions = ActionPrices(hass, self.currency)

    @property
    def price_entity(self) -> str | None:
        return self.entry.options.get(OPT_PRICE_ENTITY) or None

    @property
    def carbon_entity(self) -> str | None:
        return self.entry.options.get(OPT_CARBON_ENTITY) or None

    async def async_read(self, start: datetime, flat_retail: float, pv_peak_w: float) -> PlanInputs:
        warnings: list[str] = []
        retail = await self.prices(start, flat_retail, warnings)
        pv = await self.solar(start, pv_peak_w, warnings) if pv_peak_w > 0 else None
        carbon = await self.carbon(start, warnings)
        return PlanInputs(retail, pv, carbon, tuple(warnings))

    # -- prices --------------------------------------------------------------------------------

    async def prices(
        self, start: datetime, flat: float, warnings: list[str]
    ) -> tuple[float, ...] | None:
        entity_id = self.price_entity
        if entity_id is None:
            return None
        state = self.hass.states.get(entity_id)
        if state is None:
            self._issue(entity_id, "the entity does not exist")
            warnings.append(f"price entity {entity_id} does not exist: {ON_TARIFF}")
            return None
        try:
            series = await self._actions.async_series(entity_id)
            if series is None:  # not Nord Pool or Tibber (core): the attributes hold the series
                series = parse_price_state(state, self.currency)
            slots = prices_for_slots(
                series,
                start,
                HORIZON_SLOTS,
                tz=dt_util.get_default_time_zone(),
                gap_fill=GapFill.REPEAT_DAY,
                flat_price=flat,
            )
        except SourceError as err:
            if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                self._clear_issue(entity_id)  # the source is down, not wrong: wait for it
                warnings.append(f"price entity {entity_id} is {state.state}: {ON_TARIFF}")
            else:
                self._issue(entity_id, str(err))
                warnings.append(f"price entity {entity_id} not readable ({err}): {ON_TARIFF}")
            return None
        self._clear_issue(entity_id)
        warnings.extend(slots.warnings)
        return slots.prices

    # -- solar ---------------------------------------------------------------------------------

    async def solar(
        self, start: datetime, peak_w: float, warnings: list[str]
    ) -> tuple[float, ...] | None:
        """The Energy dashboard's forecasts for the home's PV, or None (the planner's model)."""
        try:
            forecasts = await self._solar_forecasts(warnings)
            if not forecasts:
                return None
            slots = solar_for_slots(
                forecasts, start, HORIZON_SLOTS, tz=dt_util.get_default_time_zone()
            )
        except SourceError as err:
            warnings.append(f"solar forecast of the Energy dashboard not readable: {err}")
            return None
        warnings.extend(slots.warnings)
        if not slots.covered_slots:
            return None
        lat, lon = self.hass.config.latitude, self.hass.config.longitude
        model = [
            clear_sky_pv_w(lat, lon, peak_w, start + i * SLOT + SLOT / 2) * DEFAULT_PV_YIELD_RATIO
            for i in range(HORIZON_SLOTS)
        ]
        return slots.filled(model)

    async def _solar_forecasts(self, warnings: list[str]) -> list[SolarForecast]:
        manager = await async_get_manager(self.hass)
        entry_ids = parse_energy_preferences(manager.data).solar_forecast_entries
        if not entry_ids:
            return []
        platforms = await async_get_energy_platforms(self.hass)
        forecasts = []
        for entry_id in entry_ids:
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.domain not in platforms:
                warnings.append(f"solar forecast {entry_id} of the Energy dashboard is not loaded")
                continue
            try:
                raw = await platforms[entry.domain](self.hass, entry_id)
            except Exception as err:  # another integration's failure must not stop planning
                LOGGER.debug("Solar forecast %s failed: %s", entry.title, err)
                raw = None
            if raw is None:
                warnings.append(f"solar forecast {entry.title} has no data yet")
                continue
            forecasts.append(
                parse_solar_forecast(raw, period_key=period_key_for(entry.domain), name=entry.title)
            )
        return forecasts

    # -- carbon --------------------------------------------------------------------------------

    async def carbon(self, start: datetime, warnings: list[str]) -> tuple[float, ...] | None:
        entity_id = self.carbon_entity
        if entity_id is None:
            return None
        state = self.hass.states.get(entity_id)
        if state is None:
            self._issue(entity_id, "the entity does not exist")
            return None
        self._clear_issue(entity_id)
        history = await self._carbon_history(entity_id)
        try:
            slots = carbon_for_slots(
                history,
                start,
                HORIZON_SLOTS,
                current=state.state,
                tz=dt_util.get_default_time_zone(),
                days=CARBON_DAYS,
            )
        except SourceError as err:
            warnings.append(f"carbon intensity of {entity_id} not usable: {err}")
            return None
        warnings.extend(slots.warnings)
        return slots.g_per_kwh

    async def _carbon_history(self, entity_id: str) -> list[tuple[datetime, str]]:
        """The recorder's last week of the sensor, asked at most once an hour."""
        now = dt_util.utcnow()
        if self._carbon_at is not None and now - self._carbon_at < CARBON_REFRESH:
            return self._carbon
        self._carbon_at = now
        if "recorder" not in self.hass.config.components:
            self._carbon = []
            return self._carbon
        try:
            changes = await get_instance(self.hass).async_add_executor_job(
                state_changes_during_period,
                self.hass,
                now - timedelta(days=CARBON_DAYS),
                now,
                entity_id,
                True,
            )
        except Exception as err:  # a recorder problem must never stop planning
            LOGGER.warning("Carbon-intensity history not available from the recorder: %s", err)
            changes = {}
        self._carbon = [(s.last_changed, s.state) for s in changes.get(entity_id, [])]
        return self._carbon

    # -- repairs -------------------------------------------------------------------------------

    def _issue_id(self, entity_id: str) -> str:
        return ISSUE_INPUT_INVALID.format(self.entry.entry_id, entity_id)

    def _issue(self, entity_id: str, reason: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(entity_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="input_entity_invalid",
            translation_placeholders={"entity": entity_id, "reason": reason},
        )

    def _clear_issue(self, entity_id: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(entity_id))
