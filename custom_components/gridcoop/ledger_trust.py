"""The home as a light client of its hub's ledger: what it checks without trusting the hub.

The validator keys are pinned when the home first sees the ledger (at join, or at the first
ledger answer after it): each with its proof of possession checked. From then on every ledger
poll follows the chain to the newest final block (a different block at a height this home has
seen is a fork) and proves the home's own balance against it: the settlement row's Merkle proof
and the validators' aggregate signature (gridcoop_home.ledger.light_client). What the home has
seen is kept in Home Assistant's storage, so a restart cannot make it forget a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.client.ledger import LedgerClient
from gridcoop_home.ledger.light_client import (
    FORK,
    UNPROVABLE,
    VALIDATORS_CHANGED,
    LightClient,
    Verdict,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .const import (
    CONF_URL,
    DOMAIN,
    ISSUE_LEDGER_FORK,
    ISSUE_LEDGER_UNPROVABLE,
    ISSUE_LEDGER_VALIDATORS,
    LOGGER,
)

STORAGE_VERSION = 1


@dataclass(frozen=True, slots=True)
class TrustReport:
    head: Verdict  # the chain: ok, pending, fork, unprovable, validator_set_changed
    balance: Verdict | None  # the home's balance (None when the chain check already failed)
    account: dict[str, Any] | None  # the hub's account answer the balance check read

    @property
    def worst(self) -> Verdict:
        if self.balance is None or not self.head.ok:
            return self.head
        return self.balance


class LedgerTrust:
    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        home_id: str,
        pinned: dict[str, Any] | None = None,
    ) -> None:
        self._hass = hass
        self._home_id = home_id
        self._pinned = pinned  # the ledger head seen when the home joined, if it had one
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.light_client"
        )
        self.client: LightClient | None = None

    async def async_load(self) -> None:
        data = await self._store.async_load()
        if data is not None:
            self.client = LightClient.from_dict(data)
        elif self._pinned is not None:
            # The validators the home saw when it joined are the ones it trusts.
            try:
                self.client = await self._hass.async_add_executor_job(
                    LightClient.join, self._pinned, self._home_id
                )
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.warning("The ledger validators pinned at join do not check: %s", err)

    async def async_check(self, ledger: LedgerClient, head: dict[str, Any]) -> TrustReport:
        """Follow the chain and prove the home's balance; raises what the ledger client raises."""
        if self.client is None:
            try:
                self.client = LightClient.join(head, self._home_id)
            except (KeyError, TypeError, ValueError) as err:
                return TrustReport(
                    Verdict(UNPROVABLE, f"cannot pin the validators: {err}"), None, None
                )
            LOGGER.info("Pinned the hub's ledger validators %s", sorted(self.client.validators))
        client = self.client
        blocks = await ledger.blocks(*client.blocks_from())
        chain = await self._hass.async_add_executor_job(
            client.check_head, blocks, head.get("validators")
        )
        if chain.status == FORK:
            await self._save()
            return TrustReport(chain, None, None)
        answer = await ledger.home_account()
        proof_blocks = await ledger.blocks(*client.blocks_from(LightClient.proof_height(answer)))
        balance = await self._hass.async_add_executor_job(
            client.check_balance, answer, proof_blocks
        )
        await self._save()
        return TrustReport(chain, balance, answer)

    async def trust(self, validators: list[dict[str, Any]]) -> list[int]:
        """The owner accepted the hub's new validators (a repair): trust them from now on."""
        if self.client is None:
            return []
        added = self.client.trust(validators)
        await self._save()
        return added

    def signed_head(self) -> dict[str, Any] | None:
        return None if self.client is None else self.client.signed_head()

    async def _save(self) -> None:
        # Written at once, not delayed: a restart right after a poll must not forget a block.
        if self.client is not None:
            await self._store.async_save(self.client.to_dict())


def raise_trust_issues(hass: HomeAssistant, entry: ConfigEntry[Any], report: TrustReport) -> None:
    """One repair issue per kind of doubt; an issue whose doubt is gone is removed, except a
    fork, which stays until the owner dismisses it (the hub rewrote history once)."""
    entry_id = entry.entry_id
    verdict = report.worst
    if verdict.status == FORK:
        known, found = verdict.known, verdict.found
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_LEDGER_FORK.format(entry_id),
            is_fixable=False,
            is_persistent=True,
            severity=ir.IssueSeverity.CRITICAL,
            translation_key="ledger_fork",
            translation_placeholders={
                "url": str(entry.data.get(CONF_URL, "")),
                "height": str(known.header.height if known else "?"),
                "known": known.header.hash[:16] if known else "?",
                "found": found.header.hash[:16] if found else "none",
            },
        )
        return
    if verdict.status == VALIDATORS_CHANGED:
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_LEDGER_VALIDATORS.format(entry_id),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="ledger_validators",
            translation_placeholders={"reason": verdict.reason},
            data={"entry_id": entry_id},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_LEDGER_VALIDATORS.format(entry_id))
    if verdict.status == UNPROVABLE:
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_LEDGER_UNPROVABLE.format(entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="ledger_unprovable",
            translation_placeholders={"reason": verdict.reason},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_LEDGER_UNPROVABLE.format(entry_id))
