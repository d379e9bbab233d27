"""The strategy profile the planner optimises for."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import PROFILES
from .data import GridCoopConfigEntry
from .entity import GridCoopEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([StrategySelect(entry)])


class StrategySelect(GridCoopEntity, SelectEntity, RestoreEntity):
    _attr_translation_key = "strategy"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: GridCoopConfigEntry) -> None:
        super().__init__(entry, "strategy")
        self._attr_options = list(PROFILES)
        self._attr_current_option = entry.runtime_data.settings.profile

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in PROFILES:
            self._attr_current_option = last.state
            self.runtime.settings.profile = last.state

    async def async_select_option(self, option: str) -> None:
        self._attr_current_option = option
        self.runtime.settings.profile = option
        self.async_write_ha_state()
        self.runtime.loop.request_replan()
