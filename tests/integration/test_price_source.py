"""A price entity chosen in the options is the home's import price, island or trading."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.gridcoop.const import DOMAIN, OPT_PRICE_ENTITY
from custom_components.gridcoop.planning import build_request
from custom_components.gridcoop.price_entity import parse_price_state
from custom_components.gridcoop.price_sensor import ExpectedPrice

from .common import NOW, FakeHub, hub_entry, island_entry, setup_entry

PRICES = "sensor.electricity_price"
PUBLISHED = "sensor.island_expected_price"
MIDNIGHT = NOW.replace(hour=0, minute=0)


def hourly_today(key: str = "value", end: bool = True) -> list[dict[str, Any]]:
    """Today's 24 hourly prices (UTC): hour h costs h/100 EUR/kWh."""
    items = []
    for hour in range(24):
        start = MIDNIGHT + timedelta(hours=hour)
        item: dict[str, Any] = {"start": start.isoformat(), key: hour / 100}
        if end:
            item["end"] = (start + timedelta(hours=1)).isoformat()
        items.append(item)
    return items


def nordpool(raw_today: Any, **extra: Any) -> dict[str, Any]:
    return {"currency": "EUR", "unit": "kWh", "raw_today": raw_today, "raw_tomorrow": [], **extra}


def issue(hass: HomeAssistant, entry_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"input_invalid_{entry_id}_{PRICES}")


async def test_island_home_plans_on_nord_pool_prices_and_warns_about_tomorrow(
    hass: HomeAssistant, frozen: Any
) -> None:
    hass.states.async_set(PRICES, "0.10", nordpool(hourly_today()))
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    plan = entry.runtime_data.home.data.plan
    assert plan is not None
    # 10:00 UTC costs 0.10 EUR (10 c), 23:45 0.23 EUR: the entity's prices, not the flat 30 c.
    assert plan.schedule.buy_price[0] == 10.0
    assert plan.schedule.buy_price[55] == 23.0
    # Tomorrow is not published yet: tomorrow 09:45 (the last slot) gets today's 09:45 price.
    assert plan.schedule.buy_price[95] == 9.0
    assert any("no price for 40 slots" in w and "13:00 CET" in w for w in plan.warnings)
    assert issue(hass, entry.entry_id) is None
    # The owner sees the fallback where plan warnings show: the get_plan action.
    answer = await hass.services.async_call(
        DOMAIN,
        "get_plan",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert any("no price for 40 slots" in w for w in answer["warnings"])


async def test_a_generic_attribute_series_in_cents_is_read(
    hass: HomeAssistant, frozen: Any
) -> None:
    items = [{**i, "price": i["price"] * 100} for i in hourly_today("price", end=False)]
    hass.states.async_set(PRICES, "10", {"unit_of_measurement": "c/kWh", "forecast": items})
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    plan = entry.runtime_data.home.data.plan
    assert plan is not None
    assert plan.schedule.buy_price[4] == 11.0  # 11:00 UTC


async def test_a_malformed_price_entity_raises_a_repair_and_plans_on_the_tariff(
    hass: HomeAssistant, frozen: Any
) -> None:
    broken = hourly_today()
    broken[3]["start"] = "yesterday"
    hass.states.async_set(PRICES, "0.10", nordpool(broken))
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    plan = entry.runtime_data.home.data.plan
    assert plan is not None and plan.schedule.buy_price[0] == 30.0  # the flat tariff
    found = issue(hass, entry.entry_id)
    assert found is not None and found.translation_key == "input_entity_invalid"
    assert "raw_today[3].start" in found.translation_placeholders["reason"]
    assert any("not readable" in w for w in plan.warnings)
    # Fixed: the next plan uses it and the issue goes away.
    hass.states.async_set(PRICES, "0.10", nordpool(hourly_today()))
    entry.runtime_data.loop.request_replan()
    await hass.async_block_till_done()
    assert entry.runtime_data.home.data.plan.schedule.buy_price[0] == 10.0
    assert issue(hass, entry.entry_id) is None


async def test_missing_entity_other_currency_and_no_series_are_repairs(
    hass: HomeAssistant, frozen: Any
) -> None:
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    assert "does not exist" in issue(hass, entry.entry_id).translation_placeholders["reason"]
    loop = entry.runtime_data.loop
    for attributes, reason in (
        ({**nordpool(hourly_today()), "currency": "SEK"}, "SEK"),
        ({"unit_of_measurement": "EUR/kWh", "friendly_name": "Price"}, "no price series"),
        ({"forecast": hourly_today("price", end=False)}, "unit_of_measurement"),
    ):
        hass.states.async_set(PRICES, "0.1", attributes)
        loop.request_replan()
        await hass.async_block_till_done()
        assert reason in issue(hass, entry.entry_id).translation_placeholders["reason"]
        assert loop.home.data.plan is not None


async def test_an_unavailable_price_entity_is_waited_for_without_a_repair(
    hass: HomeAssistant, frozen: Any
) -> None:
    hass.states.async_set(PRICES, STATE_UNAVAILABLE, {})
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    plan = entry.runtime_data.home.data.plan
    assert plan is not None and plan.schedule.buy_price[0] == 30.0
    assert any("is unavailable" in w for w in plan.warnings)
    assert issue(hass, entry.entry_id) is None


async def test_a_trading_home_uses_its_price_entity_as_its_grid_tariff(
    hass: HomeAssistant, fake_hub: FakeHub, frozen: Any
) -> None:
    entsoe = [{"time": i["start"], "price": i["value"]} for i in hourly_today()]
    hass.states.async_set(PRICES, "0.1", {"unit_of_measurement": "EUR/kWh", "prices_today": entsoe})
    entry = hub_entry(**{OPT_PRICE_ENTITY: PRICES})
    with patch("custom_components.gridcoop.loop.build_request", wraps=build_request) as build:
        await setup_entry(hass, entry)
    request = build.call_args.kwargs
    assert request["island"] is False
    # The plan starts at the next open interval, 10:15 UTC: 0.10 EUR, while the hub says 30 c.
    assert request["retail"][0] == 10.0
    assert request["retail"][3] == 11.0


async def test_the_expected_price_is_published_in_nord_pool_layout(
    hass: HomeAssistant, frozen: Any
) -> None:
    await hass.config.async_set_time_zone("UTC")
    hass.states.async_set(PRICES, "0.10", nordpool(hourly_today()))
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    state = hass.states.get(PUBLISHED)
    assert state.state == "0.1"
    assert state.attributes["unit_of_measurement"] == "EUR/kWh"
    attrs = state.attributes
    assert attrs["current_price"] == 0.1
    assert attrs["raw_today"][0] == {
        "start": "2026-06-01T10:00:00+00:00",
        "end": "2026-06-01T10:15:00+00:00",
        "value": 0.1,
    }
    assert len(attrs["raw_today"]) == 56 and len(attrs["raw_tomorrow"]) == 40
    assert attrs["tomorrow_valid"] is False  # the plan reaches 10:00 tomorrow, not midnight
    # What Predbat and evcc read back is what the plan expects.
    series = parse_price_state(state, "EUR")
    assert [i.price for i in series.intervals[:4]] == [10.0, 10.0, 10.0, 10.0]
    # The big lists stay out of the recorder.
    assert {
        "raw_today",
        "raw_tomorrow",
        "today",
        "tomorrow",
    } <= ExpectedPrice._unrecorded_attributes


async def test_the_published_price_keeps_earlier_slots_of_today(
    hass: HomeAssistant, frozen: Any
) -> None:
    await hass.config.async_set_time_zone("UTC")
    hass.states.async_set(PRICES, "0.10", nordpool(hourly_today()))
    entry = island_entry(**{OPT_PRICE_ENTITY: PRICES})
    await setup_entry(hass, entry)
    frozen.tick(timedelta(minutes=15))
    await entry.runtime_data.loop.step()
    await hass.async_block_till_done()
    attrs = hass.states.get(PUBLISHED).attributes
    assert attrs["raw_today"][0]["start"] == "2026-06-01T10:00:00+00:00"  # from the first plan
    assert attrs["raw_today"][1]["start"] == "2026-06-01T10:15:00+00:00"
    assert len(attrs["raw_tomorrow"]) == 41
    # A new day forgets yesterday.
    frozen.move_to(NOW.replace(hour=23, minute=59) + timedelta(minutes=2))
    await entry.runtime_data.loop.step()
    await hass.async_block_till_done()
    attrs = hass.states.get(PUBLISHED).attributes
    assert attrs["raw_today"][0]["start"] == "2026-06-02T00:00:00+00:00"


def test_each_attribute_layout_is_detected() -> None:
    from homeassistant.core import State

    octopus = [
        {"start": i["start"], "end": i["end"], "value_inc_vat": i["value"]} for i in hourly_today()
    ]
    by_time = {i["start"]: i["value"] * 100 for i in hourly_today()}
    layouts: list[tuple[dict[str, Any], str]] = [
        ({"rates": octopus}, "GBP"),
        ({"unit_of_measurement": "c/kWh", "prices": by_time, "note": {"a": 1}}, "EUR"),
        ({"unit_of_measurement": "öre/kWh", "currency": "SEK", "forecast": by_time}, "SEK"),
    ]
    for attributes, currency in layouts:
        series = parse_price_state(State(PRICES, "1", attributes), currency)
        assert series.intervals[10].price == 10.0, attributes
        assert series.currency == currency
