"""Actions answer with response data; wrong input gives translated errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from gridcoop_home.client.errors import HubUnreachable, error_for
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from custom_components.gridcoop.const import DOMAIN
from custom_components.gridcoop.coordinator import HomeState

from .common import (
    ALL_SUBS,
    LOAD_SUB,
    NOW,
    PV_SUB,
    FakeHub,
    hub_entry,
    island_entry,
    set_source_states,
    setup_entry,
)


def local(when: datetime) -> str:
    return dt_util.as_local(when).isoformat()


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_get_plan_and_prices_on_a_hub(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    plan = await _call(hass, "get_plan", config_entry_id=entry.entry_id)
    assert plan["island"] is False
    assert len(plan["slots"]) == 96
    # Local times (the test's time zone), the next open interval first.
    assert plan["slots"][0]["start"] == local(NOW.replace(minute=15))
    assert plan["currency"] == "EUR"
    assert plan["explanations"]
    # Loads by their names, never by subentry id.
    assert {d["load"] for d in plan["discomfort_prices"]} == {"Dishwasher"}
    assert set(plan["slots"][0]["loads_w"]) == {"Dishwasher"}
    assert all("01dishwasher" not in line for line in plan["explanations"])
    assert {"buy_price", "sell_price"} <= set(plan["slots"][0])
    prices = await _call(hass, "get_prices", config_entry_id=entry.entry_id)
    assert prices["currency"] == "EUR"
    assert prices["tariffs"][0] == {
        "start": local(NOW.replace(minute=0)),
        "retail": 0.3,
        "feed_in": 0.08,
    }
    assert prices["cleared"][0]["price"] == 0.2


async def test_get_plan_and_prices_island(hass: HomeAssistant, frozen: Any) -> None:
    set_source_states(hass)
    entry = island_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    plan = await _call(hass, "get_plan", config_entry_id=entry.entry_id)
    assert plan["island"] is True
    assert plan["slots"][0]["start"] == local(NOW.replace(minute=0))
    prices = await _call(hass, "get_prices", config_entry_id=entry.entry_id)
    assert prices == {
        "island": True,
        "currency": "EUR",
        "tariffs": [{"retail": 0.3, "feed_in": 0.08}],
        "cleared": [],
    }


async def test_prices_while_hub_never_answered(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    fake_hub.fail = HubUnreachable("down")
    entry = hub_entry()
    await setup_entry(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "get_prices", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "hub_unavailable"


async def test_defer_load(hass: HomeAssistant, frozen: Any) -> None:
    set_source_states(hass)
    entry = island_entry([LOAD_SUB, PV_SUB])
    await setup_entry(hass, entry)
    devices = {
        next(iter(d.identifiers))[1]: d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    }
    load = devices[LOAD_SUB["subentry_id"]]
    meter = devices[PV_SUB["subentry_id"]]
    until = NOW + timedelta(hours=6)
    answer = await _call(
        hass, "defer_load", config_entry_id=entry.entry_id, device_id=load.id, until=until
    )
    assert answer == {"load": "Dishwasher", "earliest_start": local(until)}
    await hass.async_block_till_done()
    plan = entry.runtime_data.home.data.plan
    outcome = next(o for o in plan.loads)
    assert outcome.start is not None, "a deferred load still runs, later"
    assert outcome.start >= until
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, "defer_load", config_entry_id=entry.entry_id, device_id=meter.id, until=until
        )
    assert err.value.translation_key == "not_a_load"
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "defer_load",
            config_entry_id=entry.entry_id,
            device_id=load.id,
            until=NOW - timedelta(hours=1),
        )
    assert err.value.translation_key == "until_in_past"


async def test_entry_errors(hass: HomeAssistant, frozen: Any) -> None:
    entry = island_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "get_plan", config_entry_id="nope")
    assert err.value.translation_key == "entry_not_found"
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "get_plan", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "entry_not_loaded"


async def test_no_plan_yet(hass: HomeAssistant, frozen: Any) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    entry.runtime_data.home.data = HomeState()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "get_plan", config_entry_id=entry.entry_id)
    assert err.value.translation_key == "no_plan"


async def test_submit_bid_button(hass: HomeAssistant, fake_hub: FakeHub, frozen: Any) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    before = len(fake_hub.bids)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.maple_street_4_submit_bid_now"}, blocking=True
    )
    assert len(fake_hub.bids) == before + 1
    assert fake_hub.bids[-1][0] == int((NOW + timedelta(minutes=10)).timestamp())

    async def refuse(interval_start: int, curves: Any) -> Any:
        raise error_for(409, "gate_closed", "too late")

    fake_hub.submit_bid = refuse  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.maple_street_4_submit_bid_now"}, blocking=True
        )
    assert err.value.translation_key == "bid_refused"

    async def unreachable(interval_start: int, curves: Any) -> Any:
        raise HubUnreachable("gone")

    fake_hub.submit_bid = unreachable  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.maple_street_4_submit_bid_now"}, blocking=True
        )
    assert err.value.translation_key == "hub_unreachable"


async def test_not_taking_part_means_no_bid(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.maple_street_4_take_part_in_the_market"},
        blocking=True,
    )
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.loop.async_submit_bid_now()
    assert err.value.translation_key == "nothing_to_bid"


async def test_island_cannot_bid(hass: HomeAssistant, frozen: Any) -> None:
    entry = island_entry()
    await setup_entry(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.loop.async_submit_bid_now()
    assert err.value.translation_key == "island_no_bid"
