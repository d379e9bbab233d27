"""Nord Pool (core) and Tibber (core) price entities: GridCoop asks their actions for prices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gridcoop.const import DOMAIN, OPT_PRICE_ENTITY

from .common import NOW, island_entry, setup_entry

MIDNIGHT = NOW.replace(hour=0, minute=0)


def price_sensor(hass: HomeAssistant, platform: str, unique_id: str) -> tuple[str, str]:
    """A registered sensor of `platform` with a state: (entity id, its config entry id)."""
    source = MockConfigEntry(domain=platform)
    source.add_to_hass(hass)
    entity = er.async_get(hass).async_get_or_create(
        "sensor", platform, unique_id, config_entry=source
    )
    hass.states.async_set(entity.entity_id, "0.1", {"unit_of_measurement": "EUR/kWh"})
    return entity.entity_id, source.entry_id


def quarter_hours(day_offset: int) -> list[tuple[str, str, float]]:
    """(start, end, h/100 EUR/kWh) for every quarter hour of a UTC day."""
    day = MIDNIGHT + timedelta(days=day_offset)
    return [
        (
            (day + timedelta(minutes=15 * q)).isoformat(),
            (day + timedelta(minutes=15 * q + 15)).isoformat(),
            (q // 4) / 100,
        )
        for q in range(96)
    ]


async def test_a_nord_pool_core_sensor_plans_on_its_action(
    hass: HomeAssistant, frozen: Any
) -> None:
    entity_id, source_entry = price_sensor(hass, "nordpool", "FI-current_price")
    calls: list[dict[str, Any]] = []

    async def get_prices(call: ServiceCall) -> dict[str, Any]:
        calls.append(dict(call.data))
        if call.data["date"] != MIDNIGHT.date().isoformat():
            raise ServiceValidationError("no prices for tomorrow yet")
        return {"FI": [{"start": s, "end": e, "price": p * 1000} for s, e, p in quarter_hours(0)]}

    hass.services.async_register(
        "nordpool", "get_prices_for_date", get_prices, supports_response=SupportsResponse.ONLY
    )
    entry = island_entry(**{OPT_PRICE_ENTITY: entity_id})
    await setup_entry(hass, entry)
    plan = entry.runtime_data.home.data.plan
    assert plan.schedule.buy_price[0] == 10.0  # 10:00 UTC: 100 EUR/MWh = 10 c/kWh
    assert calls[0] == {
        "config_entry": source_entry,
        "date": "2026-06-01",
        "areas": "FI",
        "currency": "EUR",
    }
    assert calls[1]["date"] == "2026-06-02"
    assert any("no price for 40 slots" in w for w in plan.warnings)
    # The next plan within half an hour uses the answers it has.
    entry.runtime_data.loop.request_replan()
    await hass.async_block_till_done()
    assert len(calls) == 2


async def test_a_tibber_sensor_plans_on_its_action_and_a_failure_is_a_repair(
    hass: HomeAssistant, frozen: Any
) -> None:
    entity_id, _ = price_sensor(hass, "tibber", "home-1_price")
    answer: dict[str, Any] = {"fail": True}

    async def get_prices(call: ServiceCall) -> dict[str, Any]:
        if answer["fail"]:
            raise ServiceValidationError("Tibber did not answer")
        items = [{"start_time": s, "price": p} for day in (0, 1) for s, _, p in quarter_hours(day)]
        return {"prices": {"Home": items}}

    hass.services.async_register(
        "tibber", "get_prices", get_prices, supports_response=SupportsResponse.ONLY
    )
    entry = island_entry(**{OPT_PRICE_ENTITY: entity_id})
    await setup_entry(hass, entry)
    issue_id = f"input_invalid_{entry.entry_id}_{entity_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert "tibber.get_prices" in issue.translation_placeholders["reason"]
    assert entry.runtime_data.home.data.plan.schedule.buy_price[0] == 30.0
    answer["fail"] = False
    entry.runtime_data.loop.request_replan()
    await hass.async_block_till_done()
    plan = entry.runtime_data.home.data.plan
    assert plan.schedule.buy_price[0] == 10.0
    assert plan.schedule.buy_price[95] == 9.0  # tomorrow 09:45 from tomorrow's own prices
    assert not any("no price for" in w for w in plan.warnings)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_nord_pool_sensor_without_an_area_is_a_repair(
    hass: HomeAssistant, frozen: Any
) -> None:
    entity_id, _ = price_sensor(hass, "nordpool", "odd")
    entry = island_entry(**{OPT_PRICE_ENTITY: entity_id})
    await setup_entry(hass, entry)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"input_invalid_{entry.entry_id}_{entity_id}"
    )
    assert (
        issue is not None
        and "not a Nord Pool area sensor" in issue.translation_placeholders["reason"]
    )
