"""Submit the bid for the next open interval now (instead of waiting for the next refresh)."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import GridCoopConfigEntry
from .entity import GridCoopEntity

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GridCoopConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    if entry.runtime_data.hub is not None:
        async_add_entities([SubmitBidButton(entry)])


class SubmitBidButton(GridCoopEntity, ButtonEntity):
    _attr_translation_key = "submit_bid"

    def __init__(self, entry: GridCoopConfigEntry) -> None:
        super().__init__(entry, "submit_bid")

    async def async_press(self) -> None:
        await self.runtime.loop.async_submit_bid_now()
