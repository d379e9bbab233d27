"""GridCoop: neighbourhood energy sharing for Home Assistant.

A thin adapter over the Home Assistant free `gridcoop` package (hub client, planner, SunSpec).
"""

from __future__ import annotations

from datetime import timedelta

from gridcoop_home.protocol.keys import SigningKey
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType

from . import hub_link
from .book import AllocationBook
from .const import (
    CONF_HOME_ID,
    CONF_HOME_KEY,
    CONF_METER_KEYS,
    CONF_MODE,
    CONF_URL,
    DEFAULT_READING_INTERVAL,
    DOMAIN,
    MODE_HUB,
    OPT_READING_INTERVAL,
    SIGNAL_CLEARED,
)
from .data import GridCoopConfigEntry, GridCoopRuntime
from .devices import devices_of
from .dispatch import Dispatcher
from .entity import home_device_info
from .home import HomeCoordinator
from .ledger import LedgerCoordinator
from .market import MarketCoordinator
from .metering import Metering
from .services import async_setup_services
from .settings import Settings
from .sources import SunSpecPool
from .stream import HubStream

PLATFORMS = [
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
    interval = timedelta(seconds=entry.options.get(OPT_READING_INTERVAL, DEFAULT_READING_INTERVAL))
    devices = devices_of(dict(entry.subentries))
    settings = Settings()
    pool = SunSpecPool()
    dispatcher = Dispatcher(hass, devices, settings, pool, interval_seconds=900)
    client = market = book = metering = ledger = None
    if entry.data[CONF_MODE] == MODE_HUB:
        home_key = SigningKey.from_text(entry.data[CONF_HOME_KEY])
        client = hub_link.make_client(hass, entry.data[CONF_URL], home_key)
        book = AllocationBook(hass, entry.entry_id)
        await book.async_load()
        metering = Metering(hass, entry.entry_id, entry.data[CONF_METER_KEYS])
        await metering.async_load()
        market = MarketCoordinator(hass, entry, client, book, dispatcher, interval)
        # A hub that is down must not block setup: the home keeps planning on its own and the
        # market entities stay unavailable until the hub answers (it may also ask for reauth).
        await market.async_refresh()
        if isinstance(market.last_exception, ConfigEntryAuthFailed):
            raise market.last_exception
        if market.data is not None:
            dispatcher.interval_seconds = market.data.interval_seconds
        # Tokens change once per interval at most: poll the ledger at that pace, and as soon as
        # an interval clears (the hub seals a block right after).
        ledger = LedgerCoordinator(
            hass,
            entry,
            hub_link.make_ledger_client(client, entry.data[CONF_HOME_ID], home_key),
            timedelta(seconds=max(dispatcher.interval_seconds, LEDGER_MIN_POLL_SECONDS)),
        )
        await ledger.async_refresh()

        async def _interval_cleared(_interval: object) -> None:
            await ledger.async_request_refresh()

        entry.async_on_unload(
            async_dispatcher_connect(hass, SIGNAL_CLEARED.format(entry.entry_id), _interval_cleared)
        )
    home = HomeCoordinator(
        hass,
        entry,
        devices=devices,
        settings=settings,
        pool=pool,
        dispatcher=dispatcher,
        interval=interval,
        client=client,
        market=market,
        metering=metering,
    )
    # The home device exists before any entity, so device entities can hang below it.
    home_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **home_device_info(entry)
    )
    entry.runtime_data = GridCoopRuntime(
        home_device_id=home_device.id,
        home=home,
        settings=settings,
        devices=devices,
        dispatcher=dispatcher,
        pool=pool,
        client=client,
        market=market,
        ledger=ledger,
        book=book,
        metering=metering,
    )
    # Entities restore the household's settings first, then the first plan uses them.
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await home.async_refresh()
    if market is not None and client is not None:
        stream = HubStream(client, market)
        entry.runtime_data.stream = stream
        entry.async_create_background_task(hass, stream.run(), f"{DOMAIN} hub stream")
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    entry.async_on_unload(pool.close)
    return True


async def _async_reload(hass: HomeAssistant, entry: GridCoopConfigEntry) -> None:
    """Devices (subentries) or options changed: set everything up again."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: GridCoopConfigEntry) -> bool:
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded and entry.runtime_data.book is not None:
        await entry.runtime_data.book.async_save()
    return unloaded
