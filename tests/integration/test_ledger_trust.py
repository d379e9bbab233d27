"""The home checks its hub's ledger without trusting the hub: a rewritten history, a balance the
hub cannot prove and validators the home does not know become repair issues the owner sees."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.ledger.heads import SignedHead
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from custom_components.gridcoop.const import CONF_LEDGER_PIN, DOMAIN

from .common import HOME_ID, FakeHub, FakeLedger, home_chain, hub_entry, setup_entry

PROOF = "sensor.maple_street_4_balance_proof"
BALANCE = "sensor.maple_street_4_settled_balance"
ENTRY_ID = "01HUBENTRY000000000000000"


def _issue(hass: HomeAssistant, kind: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"ledger_{kind}_{ENTRY_ID}")


async def test_a_proven_balance_raises_no_doubt(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    await setup_entry(hass, hub_entry())
    proof = hass.states.get(PROOF)
    assert proof.state == "ok"
    assert proof.attributes["reason"].startswith("balance -1235 proven")
    assert hass.states.get(BALANCE).state == "-12.35"
    for kind in ("fork", "unprovable", "validators"):
        assert _issue(hass, kind) is None


async def test_a_rewritten_history_is_a_critical_issue_that_outlives_a_restart(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    # The operator rebuilds the ledger from a database edited by hand: same validators, same
    # genesis, another history from block 1 on.
    fake_ledger.chain = home_chain(key_salt="edited by hand ")
    await entry.runtime_data.hub.ledger.async_refresh()
    await hass.async_block_till_done()

    issue = _issue(hass, "fork")
    assert issue is not None and issue.severity == ir.IssueSeverity.CRITICAL
    assert issue.translation_placeholders is not None
    # The home had verified block 3; the hub now serves another block 3.
    assert issue.translation_placeholders["height"] == "3"
    assert hass.states.get(PROOF).state == "fork"
    # What the home saw survives a restart of Home Assistant: it still sees the fork.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(PROOF).state == "fork"
    # The fork issue stays until the owner dismisses it, even if the hub serves the old chain.
    assert _issue(hass, "fork") is not None


async def test_a_balance_the_hub_cannot_prove_is_a_repair_issue_until_it_can(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    entry = hub_entry()
    fake_ledger.claimed_balance = -1000  # the hub says the home owes less than it proves
    await setup_entry(hass, entry)

    issue = _issue(hass, "unprovable")
    assert issue is not None and issue.severity == ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert "reports a balance of -1000" in issue.translation_placeholders["reason"]
    assert hass.states.get(PROOF).state == "unprovable"

    fake_ledger.claimed_balance = None
    await entry.runtime_data.hub.ledger.async_refresh()
    await hass.async_block_till_done()
    assert _issue(hass, "unprovable") is None
    assert hass.states.get(PROOF).state == "ok"


async def test_new_validators_wait_for_the_owner_who_trusts_them_from_the_repair(
    hass: HomeAssistant,
    fake_hub: FakeHub,
    fake_ledger: FakeLedger,
    frozen: Any,
) -> None:
    # The home first sees the hub alone; a neighbour's witness then co-signs every block.
    fake_ledger.chain = home_chain(witnesses=1)
    fake_ledger.validators = 1
    entry = hub_entry()
    await setup_entry(hass, entry)
    fake_ledger.validators = None
    await entry.runtime_data.hub.ledger.async_refresh()
    await hass.async_block_till_done()
    issue = _issue(hass, "validators")
    assert issue is not None and issue.is_fixable
    assert hass.states.get(PROOF).state == "validator_set_changed"

    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    flow = await flows.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    assert flow["step_id"] == "confirm"
    finished = await flows.async_configure(flow["flow_id"], {})
    assert finished["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert _issue(hass, "validators") is None
    assert hass.states.get(PROOF).state == "ok"
    assert sorted(entry.runtime_data.hub.ledger.trust.client.validators) == [0, 1]


async def test_the_validators_seen_at_join_are_the_ones_trusted(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    # The home joined when only the hub signed; the hub now lists a witness the owner never saw.
    fake_ledger.chain = home_chain(witnesses=1)
    fake_ledger.validators = 1
    pin = await fake_ledger.head()
    fake_ledger.validators = None
    entry = hub_entry()
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            CONF_LEDGER_PIN: {k: pin[k] for k in ("chain_id", "threshold", "validators")},
        },
    )
    await setup_entry(hass, entry)
    assert hass.states.get(PROOF).state == "validator_set_changed"
    assert _issue(hass, "validators") is not None


async def test_the_verified_head_is_an_action_response_for_verify_heads(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    head = await hass.services.async_call(
        DOMAIN,
        "get_ledger_head",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    chain = fake_ledger.chain
    assert head is not None
    record = SignedHead.from_wire(head)
    assert record.signed == chain.blocks[-1].signed
    assert (record.chain_id, record.genesis_hash) == ("test-chain", chain.blocks[0].header.hash)
    assert record.source == f"home {HOME_ID}"


async def test_no_verified_head_yet_is_a_translated_error(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    fake_ledger.validators = 0  # a head without validators: nothing can be pinned
    entry = hub_entry()
    await setup_entry(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_ledger_head",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "no_ledger_head"
