"""What the home planner plans with, read from what Home Assistant already has (HA free).

Plain dicts, lists and datetimes in (entity attributes, action responses, recorder history, the
Energy dashboard's preferences), typed results out; every malformed field raises a `SourceError`
subclass naming it, and every fallback taken is reported as a warning string.

- Prices: `parse_nordpool_prices`, `parse_nordpool_hacs`, `parse_tibber_prices`, `parse_entsoe`,
  `parse_octopus_rates`, `parse_price_list`, `parse_price_map` -> `PriceSeries`;
  `prices_for_slots` -> `SlotPrices` (15-minute slots, gaps filled with a warning).
- Solar: `parse_solar_forecast` (+ `period_key_for(domain)`) -> `SolarForecast`;
  `solar_for_slots` -> `SolarSlots` (mean W per slot, coverage).
- Carbon: `carbon_for_slots` -> `CarbonSlots` (same-hour profile of a sensor's history).
- Energy dashboard: `parse_energy_preferences` -> `EnergySetup`.
- Publishing our price: `nordpool_attributes` (Nord Pool HACS layout).
"""

from gridcoop_home.sources.carbon import CarbonSlots, carbon_for_slots
from gridcoop_home.sources.energy_prefs import (
    BatterySource,
    ConsumingDevice,
    EnergySetup,
    GridConnection,
    PowerSensor,
    SolarSource,
    Statistic,
    parse_energy_preferences,
)
from gridcoop_home.sources.errors import (
    CarbonSourceError,
    EnergyPreferencesError,
    PriceSourceError,
    SolarForecastError,
    SourceError,
)
from gridcoop_home.sources.price_formats import (
    parse_entsoe,
    parse_nordpool_hacs,
    parse_nordpool_prices,
    parse_octopus_rates,
    parse_price_list,
    parse_price_map,
    parse_tibber_prices,
)
from gridcoop_home.sources.price_slots import GapFill, SlotPrices, prices_for_slots
from gridcoop_home.sources.prices import (
    PriceInterval,
    PriceSeries,
    PriceUnit,
    merge_series,
)
from gridcoop_home.sources.publish import UNRECORDED_ATTRIBUTES, nordpool_attributes
from gridcoop_home.sources.solar import (
    PeriodKey,
    SolarForecast,
    SolarSlots,
    parse_solar_forecast,
    period_key_for,
    solar_for_slots,
)

__all__ = [
    "UNRECORDED_ATTRIBUTES",
    "BatterySource",
    "CarbonSlots",
    "CarbonSourceError",
    "ConsumingDevice",
    "EnergyPreferencesError",
    "EnergySetup",
    "GapFill",
    "GridConnection",
    "PeriodKey",
    "PowerSensor",
    "PriceInterval",
    "PriceSeries",
    "PriceSourceError",
    "PriceUnit",
    "SlotPrices",
    "SolarForecast",
    "SolarForecastError",
    "SolarSlots",
    "SolarSource",
    "SourceError",
    "Statistic",
    "carbon_for_slots",
    "merge_series",
    "nordpool_attributes",
    "parse_energy_preferences",
    "parse_entsoe",
    "parse_nordpool_hacs",
    "parse_nordpool_prices",
    "parse_octopus_rates",
    "parse_price_list",
    "parse_price_map",
    "parse_solar_forecast",
    "parse_tibber_prices",
    "period_key_for",
    "prices_for_slots",
    "solar_for_slots",
]
