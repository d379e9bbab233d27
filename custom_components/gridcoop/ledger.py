"""The hub's token ledger: this home's tokens, certificates and settled money balance.

Polled once per market interval and whenever an interval clears (the hub seals a block right
after), never faster. A hub without a ledger is noticed once: the token entities are then not
created (at setup) or unavailable (if the hub drops its ledger later), with one log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from gridcoop_home.client.hub import HubError, HubUnreachable
from gridcoop_home.client.ledger import Account, LedgerClient, LedgerDisabled
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry

DEFAULT_TOKEN_UNIT_WH = 100


@dataclass(frozen=True, slots=True)
class LedgerData:
    account: Account | None  # None: the hub keeps no ledger
    token_unit_wh: int = DEFAULT_TOKEN_UNIT_WH
    height: int | None = None
    final_height: int | None = None


NO_LEDGER = LedgerData(account=None)


class LedgerCoordinator(DataUpdateCoordinator[LedgerData]):
    config_entry: GridCoopConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        client: LedgerClient,
        interval: timedelta,
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} ledger", update_interval=interval
        )
        self.client = client

    @property
    def enabled(self) -> bool | None:
        """True/False once the hub answered whether it keeps a ledger; None before."""
        return None if self.data is None else self.data.account is not None

    @property
    def token_unit_wh(self) -> int:
        return self.data.token_unit_wh if self.data is not None else DEFAULT_TOKEN_UNIT_WH

    async def _async_update_data(self) -> LedgerData:
        try:
            head = await self.client.head()
            account = await self.client.account()
        except LedgerDisabled:
            # Not an error: the hub runs its market without the ledger. Said once.
            if self.enabled is not False:
                LOGGER.info(
                    "The hub %s keeps no token ledger: token and certificate entities are off",
                    self.client.hub.base_url,
                )
            return NO_LEDGER
        except HubUnreachable as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": self.client.hub.base_url},
            ) from err
        except HubError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_error",
                translation_placeholders={"reason": err.reason},
            ) from err
        return LedgerData(
            account=account,
            token_unit_wh=int(head.get("token_unit_wh", DEFAULT_TOKEN_UNIT_WH)),
            height=int(head["height"]),
            final_height=head.get("final_height"),
        )
