"""Config flow: join a hub with a join code (or run an island home), reauth, reconfigure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.errors import HubError, HubUnreachable, JoinRefused
from gridcoop_home.client.hub import Meter
from gridcoop_home.client.models import HubInfo
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.util import slugify
from yarl import URL

from . import hub_link
from .const import (
    CONF_CURRENCY,
    CONF_FEED_IN_PRICE,
    CONF_GRID_LIMIT_KW,
    CONF_HOME_ID,
    CONF_HOME_KEY,
    CONF_JOIN_CODE,
    CONF_LEDGER_PIN,
    CONF_METER_KEYS,
    CONF_MODE,
    CONF_RETAIL_PRICE,
    CONF_URL,
    DEFAULT_GRID_LIMIT_KW,
    DEFAULT_OUTAGE_MINUTES,
    DEFAULT_OVERRIDE_MINUTES,
    DEFAULT_READING_INTERVAL,
    DEVICE_KINDS,
    DOMAIN,
    LOGGER,
    METER_KINDS,
    MODE_HUB,
    MODE_ISLAND,
    OPT_CARBON_ENTITY,
    OPT_OUTAGE_MINUTES,
    OPT_OVERRIDE_MINUTES,
    OPT_PRICE_ENTITY,
    OPT_READING_INTERVAL,
    PROTOCOL_VERSION,
)
from .subentry_flow import flow_for_kind

# Hub refusal reasons -> form errors the user can act on
JOIN_ERRORS = {
    "unknown_join_code": "invalid_join_code",
    "malformed": "invalid_join_code",
    "expired_join_code": "expired_join_code",
    "used_join_code": "used_join_code",
}

HUB_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
        ),
        vol.Required(CONF_JOIN_CODE): str,
    }
)
JOIN_CODE_SCHEMA = vol.Schema({vol.Required(CONF_JOIN_CODE): str})
URL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
        )
    }
)


def _price() -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=-1, max=10, step=0.001, mode=selector.NumberSelectorMode.BOX
        )
    )


ISLAND_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="GridCoop island"): str,
        vol.Required(CONF_RETAIL_PRICE, default=0.30): _price(),
        vol.Required(CONF_FEED_IN_PRICE, default=0.08): _price(),
        vol.Required(CONF_CURRENCY, default="EUR"): str,
        vol.Required(CONF_GRID_LIMIT_KW, default=DEFAULT_GRID_LIMIT_KW): vol.All(
            vol.Coerce(float), vol.Range(min=0.5, max=1000)
        ),
    }
)


HOST = re.compile(r"[A-Za-z0-9._\-]+|\[?[0-9A-Fa-f:.]+\]?")  # a name, IPv4 or IPv6


class FlowError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Enrolled:
    home_id: str
    name: str
    data: dict[str, Any]


def normalise_url(text: str) -> str:
    """A hub address as typed ("hub.local:8787", "http://10.0.0.5:8787/") as a base URL;
    FlowError(invalid_url) when it cannot be one. Without a scheme, http:// is meant."""
    text = text.strip()
    if text and "://" not in text:
        text = f"http://{text}"
    try:
        url = URL(text.rstrip("/"))
    except ValueError as err:
        raise FlowError("invalid_url") from err
    if url.scheme not in ("http", "https") or url.query_string or url.fragment:
        raise FlowError("invalid_url")
    if not url.host or not HOST.fullmatch(url.host):
        raise FlowError("invalid_url")
    return str(url).rstrip("/")


async def check_hub(hass: HomeAssistant, url: str) -> HubInfo:
    """The hub's info, or FlowError(cannot_connect / incompatible_hub)."""
    client = hub_link.make_client(hass, url)
    try:
        info = await client.info()
    except (HubUnreachable, HubError) as err:
        LOGGER.debug("Hub %s not usable: %s", url, err)
        raise FlowError("cannot_connect") from err
    if info.protocol_version != PROTOCOL_VERSION:
        raise FlowError("incompatible_hub")
    return info


async def enrol(hass: HomeAssistant, url: str, join_code: str) -> Enrolled:
    """Check the hub, make fresh keys, enrol them. Keys never leave Home Assistant."""
    info = await check_hub(hass, url)
    home_key = SigningKey.generate()
    meters = [Meter(kind, kind, SigningKey.generate()) for kind in METER_KINDS]
    client = hub_link.make_client(hass, url)
    pin = await _ledger_head(client)
    try:
        home = await client.enrol(join_code.strip(), home_key, meters)
    except HubUnreachable as err:
        raise FlowError("cannot_connect") from err
    except (JoinRefused, HubError) as err:
        raise FlowError(JOIN_ERRORS.get(err.reason, "unknown")) from err
    return Enrolled(
        home_id=home.home_id,
        name=home.name or "GridCoop home",
        data={
            CONF_URL: url,
            CONF_HOME_ID: home.home_id,
            CONF_HOME_KEY: home_key.to_text(),
            CONF_METER_KEYS: {meter.name: meter.key.to_text() for meter in meters},
            CONF_CURRENCY: info.currency,
            **({CONF_LEDGER_PIN: pin} if pin is not None else {}),
        },
    )


async def _ledger_head(client: HubApi) -> dict[str, Any] | None:
    """The hub's ledger validators as they are when the home joins (pinned by the home's light
    client); None when the hub keeps no ledger."""
    try:
        head = await hub_link.make_ledger_client(client, "", None).head()
    except (HubUnreachable, HubError):
        return None
    keep = ("chain_id", "threshold", "validators")
    return {k: head[k] for k in keep if k in head} if "validators" in head else None


class GridCoopConfigFlow(ConfigFlow, domain=DOMAIN):
    VERSION = 1
    MINOR_VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {kind: flow_for_kind(kind) for kind in DEVICE_KINDS}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return GridCoopOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return self.async_show_menu(step_id="user", menu_options=["hub", "island"])

    async def async_step_hub(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = normalise_url(user_input[CONF_URL])
                enrolled = await enrol(self.hass, url, user_input[CONF_JOIN_CODE])
            except FlowError as err:
                errors["base"] = err.key
            except Exception:
                LOGGER.exception("Joining the hub failed unexpectedly")
                errors["base"] = "unknown"
            else:
                await self.async_set_unique_id(enrolled.home_id)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=enrolled.name,
                    data={CONF_MODE: MODE_HUB, **enrolled.data},
                )
        return self.async_show_form(
            step_id="hub",
            data_schema=self.add_suggested_values_to_schema(HUB_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_island(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            await self.async_set_unique_id(f"island_{slugify(user_input[CONF_NAME])}")
            self._abort_if_unique_id_configured()
            name = user_input.pop(CONF_NAME)
            return self.async_create_entry(title=name, data={CONF_MODE: MODE_ISLAND, **user_input})
        return self.async_show_form(step_id="island", data_schema=ISLAND_SCHEMA)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The hub revoked this home: join again with a new code and new keys."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                enrolled = await enrol(self.hass, entry.data[CONF_URL], user_input[CONF_JOIN_CODE])
            except FlowError as err:
                errors["base"] = err.key
            except Exception:
                LOGGER.exception("Joining the hub again failed unexpectedly")
                errors["base"] = "unknown"
            else:
                # A join code always makes a new home on the hub, so the unique id moves with it.
                return self.async_update_and_abort(
                    entry, unique_id=enrolled.home_id, data_updates=enrolled.data
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=JOIN_CODE_SCHEMA,
            errors=errors,
            description_placeholders={"url": entry.data[CONF_URL]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The hub moved: same home and keys, new address."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_MODE] != MODE_HUB:
            return self.async_abort(reason="island_no_hub")
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = normalise_url(user_input[CONF_URL])
                await check_hub(self.hass, url)
                client = hub_link.make_client(
                    self.hass, url, SigningKey.from_text(entry.data[CONF_HOME_KEY])
                )
                home_id = await client.home_id()
            except FlowError as err:
                errors["base"] = err.key
            except HubUnreachable:
                errors["base"] = "cannot_connect"
            except HubError:
                errors["base"] = "unknown_home"
            except Exception:
                LOGGER.exception("Changing the hub address failed unexpectedly")
                errors["base"] = "unknown"
            else:
                if home_id != entry.unique_id:
                    errors["base"] = "unknown_home"
                else:
                    return self.async_update_and_abort(entry, data_updates={CONF_URL: url})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                URL_SCHEMA, user_input or {CONF_URL: entry.data[CONF_URL]}
            ),
            errors=errors,
        )


class GridCoopOptionsFlow(OptionsFlow):
    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    OPT_READING_INTERVAL,
                    default=options.get(OPT_READING_INTERVAL, DEFAULT_READING_INTERVAL),
                ): vol.All(vol.Coerce(int), vol.Range(min=10, max=900)),
                vol.Required(
                    OPT_OUTAGE_MINUTES,
                    default=options.get(OPT_OUTAGE_MINUTES, DEFAULT_OUTAGE_MINUTES),
                ): vol.All(vol.Coerce(int), vol.Range(min=0, max=1440)),
                vol.Required(
                    OPT_OVERRIDE_MINUTES,
                    default=options.get(OPT_OVERRIDE_MINUTES, DEFAULT_OVERRIDE_MINUTES),
                ): vol.All(vol.Coerce(int), vol.Range(min=0, max=1440)),
                # Any sensor: the format of its price attributes is detected when planning.
                vol.Optional(OPT_PRICE_ENTITY): SENSOR,
                vol.Optional(OPT_CARBON_ENTITY): SENSOR,
            }
        )
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, options)
        )


SENSOR = selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor"))
