"""Tokens on the hub's ledger: balance sensors, and the actions that retire and transfer them."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from gridcoop_home.client.errors import HubError, HubUnreachable, LedgerDisabled, error_for
from gridcoop_home.client.ledger import Submitted, TransactionsIncomplete
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.gridcoop.const import DOMAIN
from custom_components.gridcoop.services import session_purpose

from .common import (
    CURRENT,
    HOME_ID,
    INTERVAL,
    SETTLED,
    FakeHub,
    FakeLedger,
    allocation,
    hub_entry,
    interval,
    island_entry,
    setup_entry,
)

TOKENS = {
    "sensor.maple_street_4_utility_tokens": "2",
    "sensor.maple_street_4_utility_tokens_earned": "40",
    "sensor.maple_street_4_utility_tokens_used": "12",
    "sensor.maple_street_4_green_certificates": "80",
    "sensor.maple_street_4_flexibility_tokens": "3",
    "sensor.maple_street_4_settled_balance": "-12.35",
}
ALLOCATION_BALANCE = "sensor.maple_street_4_market_balance"


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_token_sensors_replace_the_allocation_balance(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    registry = er.async_get(hass)
    entry = hub_entry()
    # An older version of this home had the allocation-derived balance.
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{entry.entry_id}_balance",
        suggested_object_id="maple_street_4_market_balance",
    )
    await setup_entry(hass, entry)
    for entity_id, value in TOKENS.items():
        state = hass.states.get(entity_id)
        assert state is not None and state.state == value, entity_id
    certificates = hass.states.get("sensor.maple_street_4_green_certificates")
    assert certificates.attributes["unit_of_measurement"] == "certificates"
    assert (
        hass.states.get("sensor.maple_street_4_settled_balance").attributes["unit_of_measurement"]
        == "EUR"
    )
    assert hass.states.get(ALLOCATION_BALANCE) is None
    assert registry.async_get(ALLOCATION_BALANCE) is None


async def test_a_hub_without_a_ledger_keeps_the_allocation_balance_and_says_so_once(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)
    entry = hub_entry()
    await setup_entry(hass, entry)
    assert hass.states.get(ALLOCATION_BALANCE) is not None
    for entity_id in TOKENS:
        assert hass.states.get(entity_id) is None
    for _ in range(3):
        await entry.runtime_data.hub.ledger.async_refresh()
    assert caplog.text.count("keeps no token ledger") == 1
    assert entry.runtime_data.hub.ledger.enabled is False


async def test_token_sensors_follow_the_hub(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    ledger = entry.runtime_data.hub.ledger
    fake_ledger.fail = HubUnreachable("down")
    await ledger.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.maple_street_4_flexibility_tokens").state == STATE_UNAVAILABLE
    fake_ledger.fail = error_for(500, "internal", "oops")
    await ledger.async_refresh()
    assert not ledger.last_update_success
    fake_ledger.fail = None
    fake_ledger.account_data = fake_ledger.account_data.__class__(home_id=HOME_ID, flex_tokens=4)
    # A cleared interval pushed over the WebSocket makes the home look at the ledger again.
    fake_hub.push(
        json.dumps({"type": "interval_cleared", "interval": interval(CURRENT + INTERVAL)})
    )
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done()
    assert hass.states.get("sensor.maple_street_4_flexibility_tokens").state == "4"
    # The hub restarts without its ledger: the entities become unavailable, with one log line.
    fake_ledger.enabled = False
    await ledger.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("sensor.maple_street_4_flexibility_tokens").state == STATE_UNAVAILABLE
    assert ledger.token_unit_wh == 100


async def test_a_hub_down_at_start_gets_token_sensors_that_wait(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    fake_hub.fail = HubUnreachable("down")
    entry = hub_entry()
    await setup_entry(hass, entry)
    assert hass.states.get("sensor.maple_street_4_green_certificates").state == STATE_UNAVAILABLE
    assert hass.states.get(ALLOCATION_BALANCE) is not None  # nothing better known yet
    assert entry.runtime_data.hub.ledger.enabled is None
    assert entry.runtime_data.hub.ledger.token_unit_wh == 100


async def test_charge_with_green_tokens_retires_certificates_for_the_session(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    entry = hub_entry()
    await setup_entry(hass, entry)
    answer = await _call(
        hass,
        "charge_with_green_tokens",
        config_entry_id=entry.entry_id,
        start="2026-05-01 18:00:00",
        end="2026-05-01 20:00:00",
        energy_kwh=7.4,
    )
    purpose = "EV charging session 2026-05-01 18:00-20:00, 7.4 kWh"
    assert answer == {
        "purpose": purpose,
        "certificates": 74,
        "energy_kwh": 7.4,
        "token_unit_wh": 100,
        "status": "pending",
        "retirements": [
            {"entry_hash": "h1", "lot": "1780300800:pvkey", "units": 50},
            {"entry_hash": "h2", "lot": "1780301700:pvkey", "units": 24},
        ],
    }
    assert fake_ledger.calls == [("retire", (74, purpose))]


async def test_session_purpose_over_midnight(hass: HomeAssistant) -> None:
    await hass.config.async_set_time_zone("UTC")
    start = datetime(2026, 5, 1, 22, 30, tzinfo=dt_util.UTC)
    text = session_purpose(start, start + timedelta(hours=3), 11.0)
    assert text.endswith("-2026-05-02 01:30, 11 kWh")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"energy_kwh": 9.0}, "not_enough_green_certificates"),
        ({"end": "2026-05-01 17:00:00"}, "session_end_before_start"),
    ],
)
async def test_charge_with_green_tokens_refusals(
    hass: HomeAssistant,
    fake_hub: FakeHub,
    fake_ledger: FakeLedger,
    frozen: Any,
    data: dict[str, Any],
    key: str,
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    call = {
        "config_entry_id": entry.entry_id,
        "start": "2026-05-01 18:00:00",
        "end": "2026-05-01 20:00:00",
        "energy_kwh": 7.4,
        **data,
    }
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "charge_with_green_tokens", **call)
    assert err.value.translation_key == key
    if key == "not_enough_green_certificates":
        assert err.value.translation_placeholders == {"need": "90", "have": "80", "energy": "9"}
        assert "9 kWh needs 90 green certificates; the home holds 80" in str(err.value)


@pytest.mark.parametrize(
    ("failure", "error", "key"),
    [
        (HubUnreachable("down"), HomeAssistantError, "hub_unreachable"),
        (LedgerDisabled(404, "not_found", "x"), HomeAssistantError, "ledger_disabled"),
        (HubError(409, "already_retired", "x"), HomeAssistantError, "ledger_refused"),
        (HubError(409, "insufficient_tokens", "x"), ServiceValidationError, "not_enough_tokens"),
        (HubError(404, "unknown_account", "x"), ServiceValidationError, "unknown_recipient"),
        (
            TransactionsIncomplete([Submitted("h", {}, "l", 5)], HubError(503, "busy", "x")),
            HomeAssistantError,
            "transactions_incomplete",
        ),
    ],
)
async def test_ledger_failures_become_translated_errors(
    hass: HomeAssistant,
    fake_hub: FakeHub,
    fake_ledger: FakeLedger,
    frozen: Any,
    failure: Exception,
    error: type[Exception],
    key: str,
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise failure

    fake_ledger.retire_green = fail  # type: ignore[method-assign]
    with pytest.raises(error) as err:
        await _call(
            hass,
            "charge_with_green_tokens",
            config_entry_id=entry.entry_id,
            start="2026-05-01 18:00:00",
            end="2026-05-01 20:00:00",
            energy_kwh=1,
        )
    assert err.value.translation_key == key


async def test_token_actions_need_a_hub_with_a_ledger(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    island = island_entry()
    await setup_entry(hass, island)
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "transfer_tokens",
            config_entry_id=island.entry_id,
            asset="flexibility_tokens",
            units=1,
        )
    assert err.value.translation_key == "ledger_needs_hub"
    entry = hub_entry()
    await setup_entry(hass, entry)  # this hub keeps no ledger
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            "transfer_tokens",
            config_entry_id=entry.entry_id,
            asset="flexibility_tokens",
            units=1,
        )
    assert err.value.translation_key == "ledger_disabled"


async def test_transfer_tokens(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    answer = await _call(
        hass,
        "transfer_tokens",
        config_entry_id=entry.entry_id,
        asset="flexibility_tokens",
        units=2,
        memo="Community EV charger, 2 h",
    )
    assert answer == {
        "asset": "flexibility_tokens",
        "units": 2,
        "to": "community",
        "status": "pending",
        "transactions": [{"entry_hash": "h3", "lot": None, "units": 2}],
    }
    answer = await _call(
        hass,
        "transfer_tokens",
        config_entry_id=entry.entry_id,
        asset="green_certificates",
        units=10,
        to="f00dfeed",
    )
    assert answer["transactions"] == [{"entry_hash": "h4", "lot": "1780300800:pvkey", "units": 10}]
    assert fake_ledger.calls == [
        ("flex", (2, "community", "Community EV charger, 2 h")),
        ("certificates", (10, "f00dfeed", "")),
    ]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"asset": "flexibility_tokens", "units": 5}, "not_enough_tokens"),
        ({"asset": "green_certificates", "units": 1}, "certificates_to_community"),
        ({"asset": "green_certificates", "units": 99, "to": "f00d"}, "not_enough_certificates"),
        ({"asset": "flexibility_tokens", "units": 1, "to": HOME_ID}, "transfer_to_self"),
    ],
)
async def test_transfer_refusals(
    hass: HomeAssistant,
    fake_hub: FakeHub,
    fake_ledger: FakeLedger,
    frozen: Any,
    data: dict[str, Any],
    key: str,
) -> None:
    entry = hub_entry()
    await setup_entry(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "transfer_tokens", config_entry_id=entry.entry_id, **data)
    assert err.value.translation_key == key


async def test_the_settlement_status_says_why_the_settled_balance_lags(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    # The market traded this interval; the ledger settled an older one and settles an interval
    # an hour after it ends (its settlement deadline).
    fake_hub.results_data = [allocation(CURRENT)]
    await setup_entry(hass, hub_entry())
    last = hass.states.get("sensor.maple_street_4_last_settled_interval")
    assert last.state == dt_util.utc_from_timestamp(SETTLED).isoformat()
    due = hass.states.get("sensor.maple_street_4_next_settlement")
    assert due.state == dt_util.utc_from_timestamp(CURRENT + INTERVAL + 3600).isoformat()


async def test_before_the_first_settlement_the_status_is_unknown_not_zero(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger, frozen: Any
) -> None:
    fake_ledger.settled = False
    await setup_entry(hass, hub_entry())
    assert hass.states.get("sensor.maple_street_4_last_settled_interval").state == "unknown"
    assert hass.states.get("sensor.maple_street_4_next_settlement").state == "unknown"
