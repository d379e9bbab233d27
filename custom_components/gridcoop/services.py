"""Actions: the plan, the prices, deferring a flexible load, and the home's tokens on the hub's
ledger (retiring green certificates for EV charging, transfers), answered with response data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import voluptuous as vol
from gridcoop_home.client.hub import HubError, HubUnreachable
from gridcoop_home.client.ledger import (
    LedgerDisabled,
    NotEnoughCertificates,
    Submitted,
    TransactionsIncomplete,
    certificates_for,
)
from gridcoop_home.ledger.entries import COMMUNITY
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

from .const import CONF_HOME_ID, DOMAIN, FLEXIBLE_LOAD
from .ledger import LedgerCoordinator
from .money import price_major

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_UNTIL = "until"
ATTR_START = "start"
ATTR_END = "end"
ATTR_ENERGY_KWH = "energy_kwh"
ATTR_ASSET = "asset"
ATTR_UNITS = "units"
ATTR_TO = "to"
ATTR_MEMO = "memo"
ASSET_FLEX = "flexibility_tokens"
ASSET_CERTIFICATES = "green_certificates"
# Utility tokens stay with the meter that earned them: the ledger transfers only flexibility
# tokens and certificates (gridcoop_home.ledger.transactions.ASSETS).
TRANSFER_ASSETS = (ASSET_FLEX, ASSET_CERTIFICATES)

ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
DEFER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_UNTIL): cv.datetime,
    }
)

CHARGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_START): cv.datetime,
        vol.Required(ATTR_END): cv.datetime,
        vol.Required(ATTR_ENERGY_KWH): vol.All(vol.Coerce(float), vol.Range(min=0.001, max=1000)),
    }
)
TRANSFER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_ASSET): vol.In(TRANSFER_ASSETS),
        vol.Required(ATTR_UNITS): vol.All(vol.Coerce(int), vol.Range(min=1, max=10**6)),
        vol.Optional(ATTR_TO, default=COMMUNITY): vol.All(cv.string, vol.Strip, vol.Length(min=1)),
        vol.Optional(ATTR_MEMO, default=""): vol.All(cv.string, vol.Length(max=200)),
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


def _ledger(entry: Any) -> LedgerCoordinator:
    """The entry's ledger, or a translated refusal (island home, hub without a ledger)."""
    ledger: LedgerCoordinator | None = entry.runtime_data.ledger
    if ledger is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="ledger_needs_hub")
    if ledger.enabled is False:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="ledger_disabled")
    return ledger


def _ledger_error(err: Exception) -> HomeAssistantError:
    """Ledger client errors -> translated Home Assistant errors."""
    if isinstance(err, LedgerDisabled):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="ledger_disabled")
    if isinstance(err, HubUnreachable):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="cannot_connect")
    if isinstance(err, TransactionsIncomplete):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="transactions_incomplete",
            translation_placeholders={
                "done": str(sum(d.units for d in err.done)),
                "reason": err.cause.reason,
            },
        )
    assert isinstance(err, HubError)
    if err.reason == "insufficient_tokens":
        return ServiceValidationError(
            translation_domain=DOMAIN, translation_key="not_enough_tokens"
        )
    if err.reason in ("unknown_account", "home_revoked"):
        return ServiceValidationError(
            translation_domain=DOMAIN, translation_key="unknown_recipient"
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="ledger_refused",
        translation_placeholders={"reason": err.reason},
    )


def _transactions(done: list[Submitted]) -> list[dict[str, Any]]:
    return [{"entry_hash": d.entry_hash, "lot": d.lot, "units": d.units} for d in done]


def session_purpose(start: datetime, end: datetime, energy_kwh: float) -> str:
    """ "EV charging session 2026-05-01 18:00-20:00, 7.4 kWh" in the local time zone."""
    start, end = dt_util.as_local(start), dt_util.as_local(end)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"EV charging session {start:%Y-%m-%d %H:%M}-{until}, {round(energy_kwh, 3):g} kWh"


async def _charge_with_green_tokens(call: ServiceCall) -> ServiceResponse:
    """Retire green certificates covering an EV charging session (final and public)."""
    ledger = _ledger(_entry(call.hass, call))
    start: datetime = call.data[ATTR_START]
    end: datetime = call.data[ATTR_END]
    if dt_util.as_utc(end) <= dt_util.as_utc(start):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="session_end_before_start"
        )
    energy_kwh: float = call.data[ATTR_ENERGY_KWH]
    purpose = session_purpose(start, end, energy_kwh)
    unit_wh = ledger.token_unit_wh
    need = certificates_for(energy_kwh * 1000, unit_wh)
    try:
        done = await ledger.client.retire_green(need, purpose)
    except NotEnoughCertificates as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_enough_green_certificates",
            translation_placeholders={
                "need": str(need),
                "have": str(err.have),
                "energy": f"{round(energy_kwh, 3):g}",
            },
        ) from err
    except (HubError, HubUnreachable, TransactionsIncomplete) as err:
        raise _ledger_error(err) from err
    finally:
        await ledger.async_request_refresh()
    return {
        "purpose": purpose,
        "certificates": need,
        "energy_kwh": round(need * unit_wh / 1000, 3),
        "token_unit_wh": unit_wh,
        "status": "pending",
        "retirements": _transactions(done),
    }


async def _transfer_tokens(call: ServiceCall) -> ServiceResponse:
    """Flexibility tokens to the community (its services) or a home; certificates to a home."""
    entry = _entry(call.hass, call)
    ledger = _ledger(entry)
    asset, units, to, memo = (call.data[k] for k in (ATTR_ASSET, ATTR_UNITS, ATTR_TO, ATTR_MEMO))
    if to == entry.data.get(CONF_HOME_ID):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="transfer_to_self")
    try:
        if asset == ASSET_FLEX:
            done = [await ledger.client.transfer_flex(units, to=to, memo=memo)]
        else:
            if to == COMMUNITY:
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key="certificates_to_community"
                )
            done = await ledger.client.transfer_certificates(units, to, memo=memo)
    except NotEnoughCertificates as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_enough_certificates",
            translation_placeholders={"need": str(units), "have": str(err.have)},
        ) from err
    except (HubError, HubUnreachable, TransactionsIncomplete) as err:
        raise _ledger_error(err) from err
    finally:
        await ledger.async_request_refresh()
    return {
        "asset": asset,
        "units": units,
        "to": to,
        "status": "pending",
        "transactions": _transactions(done),
    }


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
    hass.services.async_register(
        DOMAIN,
        "charge_with_green_tokens",
        _charge_with_green_tokens,
        CHARGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "transfer_tokens",
        _transfer_tokens,
        TRANSFER_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
