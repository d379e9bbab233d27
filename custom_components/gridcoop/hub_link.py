"""The one place that builds a hub client (tests replace it to simulate a hub)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from hub.client import HubClient
from hub.protocol.keys import SigningKey


def make_client(hass: HomeAssistant, url: str, home_key: SigningKey | None = None) -> HubClient:
    return HubClient(async_get_clientsession(hass), url, home_key=home_key)
