"""The household's settings survive restarts and feed the planner."""

from __future__ import annotations

from datetime import time
from typing import Any

from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from .common import (
    ALL_SUBS,
    BATTERY_SUB,
    EV_SUB,
    LOAD_SUB,
    FakeHub,
    hub_entry,
    island_entry,
    set_source_states,
    setup_entry,
)


async def test_settings_are_restored(hass: HomeAssistant, frozen: Any) -> None:
    # One cache for all: each call replaces the whole restore cache.
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State("select.island_strategy", "min_carbon"), {}),
            (State("time.wallbox_departure", "06:30:00"), {}),
            (State("switch.home_battery_automatic_dispatch", "on"), {}),
            (
                State("number.home_battery_reserve", "25"),
                {
                    "native_value": 25.0,
                    "native_min_value": 0,
                    "native_max_value": 100,
                    "native_step": 1,
                    "native_unit_of_measurement": "%",
                },
            ),
        ],
    )
    set_source_states(hass)
    entry = island_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    settings = entry.runtime_data.settings
    assert settings.profile == "min_carbon"
    assert settings.ev_departure[EV_SUB["subentry_id"]] == time(6, 30)
    assert settings.auto_dispatch[BATTERY_SUB["subentry_id"]] is True
    assert settings.battery_reserve_pct[BATTERY_SUB["subentry_id"]] == 25.0
    assert entry.runtime_data.home.data.plan is not None  # planned with the restored settings


async def test_changing_settings_replans(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    set_source_states(hass)
    entry = hub_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    runtime = entry.runtime_data
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.maple_street_4_strategy", "option": "stable_bill"},
        blocking=True,
    )
    await hass.services.async_call(
        "time", "set_value", {"entity_id": "time.wallbox_departure", "time": "08:15"}, blocking=True
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.dishwasher_discomfort_price", "value": 0.5},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.maple_street_4_daily_spending_cap", "value": 0.5},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert runtime.settings.profile == "stable_bill"
    assert runtime.settings.ev_departure[EV_SUB["subentry_id"]] == time(8, 15)
    assert runtime.settings.discomfort[LOAD_SUB["subentry_id"]] == 0.5
    assert runtime.settings.daily_cap == 0.5
    assert hass.states.get("select.maple_street_4_strategy").state == "stable_bill"
    assert hass.states.get("time.wallbox_departure").state == "08:15:00"
    # Spending cap reached (0.6 EUR spent today): bids keep selling but stop buying. The
    # battery (60 %) offers to sell, so there is a sale to keep.
    assert runtime.hub is not None
    runtime.hub.book.days[dt_util.now().date().isoformat()] = {
        "traded_wh": 0,
        "savings_mminor": 0,
        "spent_mminor": 60_000,
    }
    await runtime.loop.async_submit_bid_now()
    capped = fake_hub.bids[-1][1]
    assert capped.buy == ()
    assert capped.sell, "what the home sells is kept"


async def test_the_battery_charge_target_in_24_h_reaches_the_plan(
    hass: HomeAssistant, frozen: Any
) -> None:
    set_source_states(hass)
    entry = island_entry(ALL_SUBS)
    await setup_entry(hass, entry)
    runtime = entry.runtime_data
    target = "number.home_battery_charge_target_in_24_h"
    assert hass.states.get(target).state == "0"  # no target unless the owner sets one
    await hass.services.async_call(
        "number", "set_value", {"entity_id": target, "value": 90}, blocking=True
    )
    await hass.async_block_till_done()
    assert runtime.settings.battery_end_target_pct[BATTERY_SUB["subentry_id"]] == 90.0
    plan = runtime.home.data.plan
    assert plan is not None
    # 10 kWh battery at 60 %: 24 h at 5 kW can fill it, so the plan ends at 90 % or more.
    assert plan.schedule.battery_soc_wh[-1] >= 9_000 - 1
    assert all(v.limit != "battery_end_target" for v in plan.violations)
