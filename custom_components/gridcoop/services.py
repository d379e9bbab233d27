"""Actions: the plan, the prices, deferring a flexible load, and the home's tokens on the hub's
ledger (retiring green certificates for EV charging, transfers), answered with response data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import voluptuous as vol
from gridcoop_home.client.errors import HubError, HubUnreachable
from gridcoop_home.client.ledger import (
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

from .const import CONF_CURRENCY, CONF_HOME_ID, DOMAIN, FLEXIBLE_LOAD
from .coordinator import LedgerCoordinator
from .errors import translate
from .key_export import async_setup_key_export, gridcoop_entry
from .money import price_major
from .plan_view import plan_response

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
    entry = gridcoop_entry(hass, call)
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


def _local(stamp: float) -> str:
    return dt_util.as_local(dt_util.utc_from_timestamp(stamp)).isoformat()


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call)
    runtime = entry.runtime_data
    state = runtime.home.data
    if state.plan is None or state.plan_start is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_plan")
    return plan_response(
        state.plan,
        state.plan_start,
        runtime.devices,
        currency=entry.data.get(CONF_CURRENCY, "EUR"),
        island=runtime.hub is None or state.plan.bids is None,
    )


async def _get_prices(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call)
    runtime = entry.runtime_data
    currency = entry.data.get(CONF_CURRENCY, "EUR")
    if runtime.hub is None:  # island: the configured flat tariff
        return {
            "island": True,
            "currency": currency,
            "tariffs": [
                {"retail": price_major(t.retail), "feed_in": price_major(t.feed_in)}
                for t in runtime.loop.tariffs()
            ],
            "cleared": [],
        }
    data = runtime.hub.market.data
    if data is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="hub_unavailable")
    return {
        "island": False,
        "currency": data.info.currency,
        "tariffs": [
            {
                "start": _local(t.interval_start),
                "retail": price_major(t.retail_price),
                "feed_in": price_major(t.feed_in_price),
            }
            for t in data.tariffs
        ],
        "cleared": [
            {
                "start": _local(start),
                "price": price_major(interval.price),
                "volume_wh": interval.volume_wh,
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
    runtime.loop.request_replan()
    return {"load": load.title, "earliest_start": dt_util.as_local(until).isoformat()}


def _ledger(entry: Any) -> LedgerCoordinator:
    """The entry's ledger, or a translated refusal (island home, hub without a ledger)."""
    hub = entry.runtime_data.hub
    ledger: LedgerCoordinator | None = None if hub is None else hub.ledger
    if ledger is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="ledger_needs_hub")
    if ledger.enabled is False:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="ledger_disabled")
    return ledger


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
        raise translate(err, ledger.client.hub.base_url, refused="ledger_refused") from err
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
        raise translate(err, ledger.client.hub.base_url, refused="ledger_refused") from err
    finally:
        await ledger.async_request_refresh()
    return {
        "asset": asset,
        "units": units,
        "to": to,
        "status": "pending",
        "transactions": _transactions(done),
    }


async def _get_ledger_head(call: ServiceCall) -> ServiceResponse:
    """The latest final block this home has verified, as a signed-head record: give it to
    `gridcoop-hub verify --heads FILE` to check the hub's history against what this home saw."""
    ledger = _ledger(_entry(call.hass, call))
    head = ledger.trust.signed_head()
    if head is None:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_ledger_head")
    return head


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
        "get_ledger_head",
        _get_ledger_head,
        ENTRY_SCHEMA,
        supports_response=SupportsResponse.ONLY,
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
    async_setup_key_export(hass)
