"""The one place that builds hub and ledger clients (tests replace them to simulate a hub)."""

from __future__ import annotations

from gridcoop_home.client.hub import HubClient
from gridcoop_home.client.ledger import LedgerClient
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession


def make_client(hass: HomeAssistant, url: str, home_key: SigningKey | None = None) -> HubClient:
    return HubClient(async_get_clientsession(hass), url, home_key=home_key)


def make_ledger_client(client: HubClient, home_id: str, home_key: SigningKey) -> LedgerClient:
    """The ledger API over the same hub client, so signed requests share its sequence."""
    return LedgerClient(client, home_id, home_key)
