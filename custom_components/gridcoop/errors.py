"""Errors from the hub and its ledger, translated for the owner: the one place that maps the
client's error types (gridcoop_home.client.errors) to Home Assistant's translated errors."""

from __future__ import annotations

from typing import Literal

from gridcoop_home.client.errors import (
    BidRefused,
    HomeRefused,
    HubError,
    HubUnreachable,
    LedgerDisabled,
)
from gridcoop_home.client.ledger import TransactionsIncomplete
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN

# Refusals the owner can fix in the call itself (a validation error), by reason code.
VALIDATION_REASONS = {
    "insufficient_tokens": "not_enough_tokens",
    "unknown_account": "unknown_recipient",
    "home_revoked": "unknown_recipient",
}


def translate(
    err: Exception, url: str = "", *, refused: Literal["hub_error", "ledger_refused"] = "hub_error"
) -> HomeAssistantError:
    """A translated Home Assistant error for anything the hub client raised; `refused` names
    the message for a refusal without a more precise one (e.g. ledger_refused)."""
    if isinstance(err, HubUnreachable):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="hub_unreachable",
            translation_placeholders={"url": url},
        )
    if isinstance(err, TransactionsIncomplete):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="transactions_incomplete",
            translation_placeholders={
                "done": str(sum(d.units for d in err.done)),
                "reason": err.cause.reason,
            },
        )
    if isinstance(err, LedgerDisabled):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="ledger_disabled")
    if isinstance(err, HubError) and err.reason in VALIDATION_REASONS:
        return ServiceValidationError(
            translation_domain=DOMAIN, translation_key=VALIDATION_REASONS[err.reason]
        )
    if isinstance(err, HomeRefused):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="home_revoked")
    if isinstance(err, BidRefused):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="bid_refused",
            translation_placeholders={"reason": err.reason},
        )
    reason = err.reason if isinstance(err, HubError) else type(err).__name__
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=refused,
        translation_placeholders={"reason": reason},
    )
