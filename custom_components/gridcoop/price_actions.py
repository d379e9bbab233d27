"""Prices from the actions of the price integrations that have no series in their attributes.

When the chosen price entity belongs to Nord Pool (core) or Tibber (core), GridCoop asks that
integration's own action for today's and tomorrow's prices instead of reading attributes:

- `nordpool.get_prices_for_date` for today and tomorrow, for the entity's config entry and area
  (the entity's unique id is `{area}-{key}` or `{block}-{area}-{key}`), in the home's currency.
  Tomorrow is simply missing until Nord Pool publishes it. These are spot prices per MWh
  without VAT or grid fees, converted to per kWh.
- `tibber.get_prices` from today's local midnight for two days (total price incl. VAT per kWh).

Answers are kept for `ACTION_REFRESH`, so a plan every 15 minutes does not call the action
every time; tomorrow's prices appear within that time of publication.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gridcoop_home.sources import (
    PriceSeries,
    PriceSourceError,
    merge_series,
    parse_nordpool_prices,
    parse_tibber_prices,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

ACTION_PLATFORMS = ("nordpool", "tibber")
ACTION_REFRESH = timedelta(minutes=30)


class ActionPrices:
    def __init__(self, hass: HomeAssistant, currency: str) -> None:
        self.hass = hass
        self.currency = currency.upper()
        self._cache: dict[str, tuple[datetime, PriceSeries]] = {}

    async def async_series(self, entity_id: str) -> PriceSeries | None:
        """The entity's integration's prices; None when it has no action GridCoop knows."""
        entry = er.async_get(self.hass).async_get(entity_id)
        if entry is None or entry.platform not in ACTION_PLATFORMS:
            return None
        now = dt_util.utcnow()
        cached = self._cache.get(entity_id)
        if cached is not None and now - cached[0] < ACTION_REFRESH:
            return cached[1]
        if entry.platform == "nordpool":
            series = await self._nordpool(entry)
        else:
            series = await self._tibber()
        self._cache[entity_id] = (now, series)
        return series

    async def _call(self, domain: str, action: str, data: dict[str, str]) -> dict[str, object]:
        try:
            response = await self.hass.services.async_call(
                domain, action, data, blocking=True, return_response=True
            )
        except HomeAssistantError as err:
            raise PriceSourceError(f"{domain}.{action}", str(err) or type(err).__name__) from err
        return dict(response or {})

    async def _nordpool(self, entry: er.RegistryEntry) -> PriceSeries:
        parts = entry.unique_id.split("-")
        if len(parts) < 2 or entry.config_entry_id is None:
            raise PriceSourceError("entity", f"not a Nord Pool area sensor ({entry.unique_id})")
        area = parts[-2]
        today = dt_util.now().date()
        series = []
        for day in (today, today + timedelta(days=1)):
            data = {
                "config_entry": entry.config_entry_id,
                "date": day.isoformat(),
                "areas": area,
                "currency": self.currency,
            }
            try:
                response = await self._call("nordpool", "get_prices_for_date", data)
            except PriceSourceError:
                if day == today:
                    raise
                break  # tomorrow is not published yet: the gap is filled and reported
            series.append(parse_nordpool_prices(response, currency=self.currency, area=area))
        return merge_series(*series)

    async def _tibber(self) -> PriceSeries:
        midnight = dt_util.start_of_local_day()
        data = {
            "start": midnight.isoformat(),
            "end": (midnight + timedelta(days=2)).isoformat(),
        }
        response = await self._call("tibber", "get_prices", data)
        return parse_tibber_prices(response, currency=self.currency)
