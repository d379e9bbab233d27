"""Repairs the owner can fix from the repair issue itself."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant


class TrustNewValidators(ConfirmRepairFlow):
    """The hub's ledger lists validators this home does not trust yet (a neighbour started a
    witness): confirming trusts them, each after its proof of possession is checked."""

    def __init__(self, entry_id: str) -> None:
        super().__init__()
        self._entry_id = entry_id

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        if user_input is not None:
            entry = self.hass.config_entries.async_get_entry(self._entry_id)
            hub = entry.runtime_data.hub if entry is not None else None
            if hub is not None:
                head = await hub.ledger.client.head()
                try:
                    await hub.ledger.trust.trust(head.get("validators", []))
                except ValueError:  # a proof of possession that does not verify: trust none
                    return self.async_abort(reason="validators_refused")
                await hub.ledger.async_request_refresh()
            return self.async_create_entry(data={})
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    entry_id = str((data or {}).get("entry_id", ""))
    return TrustNewValidators(entry_id)
