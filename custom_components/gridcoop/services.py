"""Actions: the plan, the prices and deferring a flexible load, answered with response data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import DOMAIN, FLEXIBLE_LOAD
from .money import price_major

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_UNTIL = "until"

ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
DEFER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_UNTIL): cv.datetime,
    }
)


def _entry(hass: HomeAssistant, call: ServiceCall) -> Any:
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _iso(stamp: float) -> str:
    return dt_util.utc_from_timestamp(stamp).isoformat()


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    runtime = _entry(call.hass, call).runtime_data
    state = runtime.home.data
    if state is None or state.plan is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_plan")
    result = state.plan
    schedule = result.schedule
    slots = [
        {
            "start": start.isoformat(),
            "grid_import_w": round(schedule.grid_import_w[i]),
            "grid_export_w": round(schedule.grid_export_w[i]),
            "pv_w": round(schedule.pv_used_w[i]),
            "battery_w": round(schedule.battery_charge_w[i] - schedule.battery_discharge_w[i]),
            "battery_soc_wh": round(schedule.battery_soc_wh[i]),
            "ev_w": round(schedule.ev_charge_w[i]),
            "loads_w": {load: round(values[i]) for load, values in schedule.loads_w.items()},
            "price": price_major(schedule.buy_price[i]),
        }
        for i, start in enumerate(schedule.starts)
    ]
    return {
        "start": state.plan_start.isoformat() if state.plan_start else None,
        "island": runtime.market is None or result.bids is None,
        "expected_cost": price_major(result.expected_cost),
        "self_consumption": round(result.self_consumption, 3),
        "explanations": list(result.explanations),
        "warnings": list(result.warnings),
        "discomfort_prices": [
            {"load": d.load_id, "price": price_major(d.price), "note": d.note}
            for d in result.discomfort
        ],
        "slots": slots,
    }


async def _get_prices(call: ServiceCall) -> ServiceResponse:
    runtime = _entry(call.hass, call).runtime_data
    market = runtime.market
    if market is None:  # island: the configured flat tariff
        tariffs = runtime.home.tariffs()
        return {
            "island": True,
            "tariffs": [
                {"retail": price_major(t.retail), "feed_in": price_major(t.feed_in)}
                for t in tariffs
            ],
            "cleared": [],
        }
    if market.data is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="hub_unavailable")
    data = market.data
    return {
        "island": False,
        "currency": data.info.get("currency"),
        "tariffs": [
            {
                "start": _iso(t["interval_start"]),
                "retail": price_major(t["retail_price"]),
                "feed_in": price_major(t["feed_in_price"]),
            }
            for t in data.tariffs
        ],
        "cleared": [
            {
                "start": _iso(start),
                "price": price_major(interval.get("price")),
                "volume_wh": interval.get("volume_wh"),
            }
            for start, interval in sorted(data.intervals.items())
        ],
    }


async def _defer_load(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call)
    runtime = entry.runtime_data
    device = dr.async_get(call.hass).async_get(call.data[ATTR_DEVICE_ID])
    load = None
    if device is not None:
        load = next(
            (
                d
                for d in runtime.devices.values()
                if (DOMAIN, d.subentry_id) in device.identifiers and d.kind == FLEXIBLE_LOAD
            ),
            None,
        )
    if load is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_load")
    until: datetime = dt_util.as_utc(call.data[ATTR_UNTIL])
    if until <= dt_util.utcnow():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="until_in_past")
    runtime.settings.deferred_until[load.subentry_id] = until
    runtime.home.request_replan()
    await runtime.home.async_refresh()
    return {"load": load.title, "earliest_start": until.isoformat()}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    hass.services.async_register(
        DOMAIN, "get_plan", _get_plan, ENTRY_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, "get_prices", _get_prices, ENTRY_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN,
        "defer_load",
        _defer_load,
        DEFER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
