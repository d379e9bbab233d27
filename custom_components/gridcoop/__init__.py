"""GridCoop: neighbourhood energy sharing for Home Assistant.

A thin adapter over the Home Assistant free `gridcoop_home` library (hub client, planner, SunSpec):
coordinators hold the data (coordinator.py), the home loop acts on a schedule (loop.py).
"""

from __future__ import annotations

from datetime import timedelta

from gridcoop_home.protocol.keys import SigningKey
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType

from . import hub_link
from .book import AllocationBook
from .const import (
    CONF_HOME_ID,
    CONF_HOME_KEY,
    CONF_LEDGER_PIN,
    CONF_METER_KEYS,
    CONF_MODE,
    CONF_URL,
    DEFAULT_OVERRIDE_MINUTES,
    DEFAULT_READING_INTERVAL,
    DOMAIN,
    MODE_HUB,
    OPT_OVERRIDE_MINUTES,
    OPT_READING_INTERVAL,
    SIGNAL_OVERRIDE,
)
from .coordinator import HomeCoordinator, LedgerCoordinator, MarketCoordinator
from .data import GridCoopConfigEntry, GridCoopRuntime
from .devices import devices_of
from .dispatch import Dispatcher
from .entity import async_device_models, home_device_info
from .ledger_trust import LedgerTrust
from .loop import HomeLoop
from .metering import Metering
from .override import OverrideTracker
from .services import async_setup_services
from .settings import Settings
from .sources import SunSpecPool

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
LEDGER_MIN_POLL_SECONDS = 60


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: GridCoopConfigEntry) -> bool:
    options = entry.options
    reading = timedelta(seconds=options.get(OPT_READING_INTERVAL, DEFAULT_READING_INTERVAL))
    pause = timedelta(minutes=options.get(OPT_OVERRIDE_MINUTES, DEFAULT_OVERRIDE_MINUTES))
    devices = devices_of(dict(entry.subentries))
    settings = Settings()
    pool = SunSpecPool()
    overrides = OverrideTracker(
        hass, devices, pause, lambda sub_id: _override_changed(hass, sub_id)
    )
    dispatcher = Dispatcher(hass, devices, settings, pool, overrides, interval_seconds=900)
    hub = await _link_hub(hass, entry, reading) if entry.data[CONF_MODE] == MODE_HUB else None
    if hub is not None and hub.market.data is not None:
        dispatcher.interval_seconds = hub.market.data.interval_seconds
    home = HomeCoordinator(hass, entry)
    loop = HomeLoop(
        hass,
        entry,
        home=home,
        devices=devices,
        settings=settings,
        pool=pool,
        dispatcher=dispatcher,
        reading_interval=reading,
        hub=hub,
    )
    # The home device exists before any entity, so device entities can hang below it.
    home_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **home_device_info(entry)
    )
    entry.runtime_data = GridCoopRuntime(
        home=home,
        loop=loop,
        settings=settings,
        devices=devices,
        dispatcher=dispatcher,
        pool=pool,
        home_device_id=home_device.id,
        hub=hub,
    )
    await async_device_models(hass)
    # Entities restore the household's settings first; then the first plan uses them.
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await loop.async_start()
    entry.async_on_unload(loop.async_stop)
    entry.async_on_unload(overrides.start())
    if hub is not None:
        entry.async_create_background_task(hass, hub.stream.run(), f"{DOMAIN} hub stream")
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    entry.async_on_unload(pool.close)
    return True


async def _link_hub(
    hass: HomeAssistant, entry: GridCoopConfigEntry, poll: timedelta
) -> hub_link.HubLink:
    home_key = SigningKey.from_text(entry.data[CONF_HOME_KEY])
    api = hub_link.make_client(hass, entry.data[CONF_URL], home_key)
    book = AllocationBook(hass, entry.entry_id)
    await book.async_load()
    metering = Metering(hass, entry.entry_id, entry.data[CONF_METER_KEYS])
    await metering.async_load()
    market = MarketCoordinator(hass, entry, api, book, poll)
    # A hub that is down must not block setup: the home keeps planning on its own and the
    # market entities stay unavailable until the hub answers (it may also ask for reauth).
    await market.async_refresh()
    if isinstance(market.last_exception, ConfigEntryAuthFailed):
        raise market.last_exception
    interval = market.data.interval_seconds if market.data is not None else 900
    # Tokens change once per interval at most: poll the ledger at that pace, and as soon as an
    # interval clears (the hub seals a block right after).
    trust = LedgerTrust(
        hass, entry.entry_id, entry.data[CONF_HOME_ID], entry.data.get(CONF_LEDGER_PIN)
    )
    await trust.async_load()
    ledger = LedgerCoordinator(
        hass,
        entry,
        hub_link.make_ledger_client(api, entry.data[CONF_HOME_ID], home_key),
        trust,
        timedelta(seconds=max(interval, LEDGER_MIN_POLL_SECONDS)),
    )
    await ledger.async_refresh()
    cleared_before = {"latest": max(market.data.intervals, default=0) if market.data else 0}

    def _on_market() -> None:
        data = market.data
        latest = max(data.intervals, default=0) if data is not None else 0
        if latest > cleared_before["latest"]:
            cleared_before["latest"] = latest
            hass.async_create_task(ledger.async_request_refresh())

    entry.async_on_unload(market.async_add_listener(_on_market))
    return hub_link.HubLink(api, market, ledger, book, metering)


def _override_changed(hass: HomeAssistant, subentry_id: str) -> None:
    async_dispatcher_send(hass, SIGNAL_OVERRIDE.format(subentry_id))


async def _async_reload(hass: HomeAssistant, entry: GridCoopConfigEntry) -> None:
    """Devices (subentries) or options changed: set everything up again."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: GridCoopConfigEntry) -> bool:
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded and entry.runtime_data.hub is not None:
        await entry.runtime_data.hub.book.async_save()
    return unloaded
