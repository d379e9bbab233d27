"""The Energy dashboard's preferences (2026 storage 1.3 and the earlier grid shape) -> a setup."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from gridcoop_home.sources import (
    EnergyPreferencesError,
    PowerSensor,
    Statistic,
    parse_energy_preferences,
)

# Storage 1.3 as HA 2026.10 keeps it (homeassistant/components/energy/data.py TypedDicts 28-259).
PREFS_2026: dict[str, Any] = {
    "energy_sources": [
        {
            "type": "grid",
            "stat_energy_from": "sensor.grid_import_kwh",
            "stat_energy_to": "sensor.grid_export_kwh",
            "stat_cost": None,
            "entity_energy_price": "sensor.nord_pool_se3_current_price",
            "number_energy_price": None,
            "stat_compensation": None,
            "entity_energy_price_export": None,
            "number_energy_price_export": 0.07,
            "stat_rate": "sensor.grid_power",
            "power_config": {"stat_rate": "sensor.grid_power"},
            "cost_adjustment_day": 0.0,
            "name": "Main",
        },
        {
            "type": "grid",
            "stat_energy_from": "tibber:energy_consumption_hemma",  # an external statistic
            "stat_energy_to": None,
            "stat_cost": "tibber:energy_totalcost_hemma",
            "entity_energy_price": None,
            "number_energy_price": None,
            "stat_compensation": None,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "cost_adjustment_day": 0.0,
        },
        {
            "type": "solar",
            "stat_energy_from": "sensor.pv_kwh",
            "stat_rate": "sensor.pv_power",
            "config_entry_solar_forecast": ["01JFORECASTSOLARENTRY", "01JSOLCASTENTRY"],
            "name": "Roof",
        },
        {
            "type": "solar",
            "stat_energy_from": "sensor.balcony_kwh",
            "config_entry_solar_forecast": None,
        },
        {
            "type": "battery",
            "stat_energy_from": "sensor.bat_discharge_kwh",
            "stat_energy_to": "sensor.bat_charge_kwh",
            "stat_rate": "sensor.energy_battery_bat_dis_w_bat_chg_w_net_power",
            "power_config": {
                "stat_rate_from": "sensor.bat_dis_w",
                "stat_rate_to": "sensor.bat_chg_w",
            },
            "stat_soc": "sensor.bat_soc",
            "capacity": 10.0,
            "name": "Home battery",
        },
        {
            "type": "battery",
            "stat_energy_from": "sensor.old_bat_out",
            "stat_energy_to": "sensor.old_bat_in",
        },
        {
            "type": "gas",
            "stat_energy_from": "sensor.gas_m3",
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": 1.1,
        },
        {
            "type": "water",
            "stat_energy_from": "sensor.water_l",
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": None,
        },
    ],
    "device_consumption": [
        {
            "stat_consumption": "sensor.ev_charger_kwh",
            "stat_rate": "sensor.ev_charger_w",
            "name": "EV",
            "included_in_stat": "sensor.sub_meter_kwh",
        },
        {"stat_consumption": "sensor.dishwasher_kwh"},
    ],
    "device_consumption_water": [],
}

# Before HA 2026.3 (storage 1.2): one grid source with flow lists (LegacyGridSourceType), two
# import registers (day and night tariff), one export meter and, from 2025.12, a power list.
PREFS_LEGACY: dict[str, Any] = {
    "energy_sources": [
        {
            "type": "grid",
            "flow_from": [
                {
                    "stat_energy_from": "sensor.import_t1",
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": 0.31,
                },
                {
                    "stat_energy_from": "sensor.import_t2",
                    "stat_cost": None,
                    "entity_energy_price": "sensor.night_price",
                    "number_energy_price": None,
                },
            ],
            "flow_to": [
                {
                    "stat_energy_to": "sensor.export",
                    "stat_compensation": None,
                    "entity_energy_price": None,
                    "number_energy_price": 0.08,
                }
            ],
            "power": [
                {
                    "stat_rate": "sensor.grid_w_inverted",
                    "power_config": {"stat_rate_inverted": "sensor.grid_w"},
                }
            ],
            "cost_adjustment_day": 0.0,
        },
        {
            "type": "solar",
            "stat_energy_from": "sensor.pv_kwh",
            "config_entry_solar_forecast": ["01JFS"],
        },
    ],
    "device_consumption": [],
}


def test_2026_grid_connections_with_import_export_power_and_prices() -> None:
    setup = parse_energy_preferences(PREFS_2026)
    main, tibber = setup.grids
    assert main.name == "Main"
    assert main.energy_import == Statistic("sensor.grid_import_kwh")
    assert main.energy_export == Statistic("sensor.grid_export_kwh")
    assert main.power == PowerSensor(net=Statistic("sensor.grid_power"))
    assert main.import_price_entity == "sensor.nord_pool_se3_current_price"
    assert main.export_price == 0.07
    assert tibber.energy_import == Statistic("tibber:energy_consumption_hemma")
    assert tibber.energy_import is not None and not tibber.energy_import.is_entity
    assert main.energy_import is not None and main.energy_import.is_entity
    assert tibber.energy_export is None and tibber.power is None
    assert not setup.legacy_grid_format
    assert setup.warnings == ()


def test_2026_solar_batteries_and_devices() -> None:
    setup = parse_energy_preferences(PREFS_2026)
    roof, balcony = setup.solar
    assert roof.name == "Roof" and roof.power == Statistic("sensor.pv_power")
    assert roof.forecast_entries == ("01JFORECASTSOLARENTRY", "01JSOLCASTENTRY")
    assert balcony.forecast_entries == () and balcony.power is None
    assert setup.solar_forecast_entries == ("01JFORECASTSOLARENTRY", "01JSOLCASTENTRY")
    home, old = setup.batteries
    assert home.energy_out == Statistic("sensor.bat_discharge_kwh")
    assert home.energy_in == Statistic("sensor.bat_charge_kwh")
    assert home.soc == Statistic("sensor.bat_soc") and home.capacity_kwh == 10.0
    assert home.power == PowerSensor(
        net=Statistic("sensor.energy_battery_bat_dis_w_bat_chg_w_net_power"),
        from_=Statistic("sensor.bat_dis_w"),
        to=Statistic("sensor.bat_chg_w"),
    )
    assert old.soc is None and old.capacity_kwh is None and old.power is None
    ev, dishwasher = setup.devices
    assert ev.power == Statistic("sensor.ev_charger_w")
    assert ev.included_in == Statistic("sensor.sub_meter_kwh")
    assert dishwasher.name is None and dishwasher.power is None


def test_legacy_grid_flows_pair_up_by_position_as_home_assistant_migrates_them() -> None:
    setup = parse_energy_preferences(PREFS_LEGACY)
    assert setup.legacy_grid_format
    day, night = setup.grids
    assert day.energy_import == Statistic("sensor.import_t1")
    assert day.energy_export == Statistic("sensor.export")
    assert day.import_price == 0.31 and day.export_price == 0.08
    assert day.power == PowerSensor(
        net=Statistic("sensor.grid_w_inverted"), inverted=Statistic("sensor.grid_w")
    )
    assert night.energy_import == Statistic("sensor.import_t2")
    assert night.import_price_entity == "sensor.night_price"
    assert night.energy_export is None and night.power is None
    assert setup.solar[0].forecast_entries == ("01JFS",)


def test_power_config_alone_still_names_the_sensor() -> None:
    prefs = {
        "energy_sources": [
            {
                "type": "grid",
                "stat_energy_from": "sensor.a",
                "power_config": {"stat_rate": "sensor.w"},
            }
        ]
    }
    assert parse_energy_preferences(prefs).grids[0].power == PowerSensor(net=Statistic("sensor.w"))


def test_energy_never_configured_and_an_unknown_source_type() -> None:
    assert parse_energy_preferences(None).grids == ()
    assert parse_energy_preferences({"energy_sources": [], "device_consumption": []}).solar == ()
    setup = parse_energy_preferences(
        {"energy_sources": [{"type": "heat", "stat_energy_from": "sensor.h"}]}
    )
    assert setup.warnings == ("energy_sources[0]: unknown source type 'heat' skipped",)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ((2, "stat_energy_from"), None, "energy_sources[2].stat_energy_from"),
        ((4, "capacity"), 0, "energy_sources[4].capacity"),
        ((4, "capacity"), "big", "energy_sources[4].capacity"),
        ((4, "stat_soc"), 42, "energy_sources[4].stat_soc"),
        (
            (0, "number_energy_price_export"),
            "cheap",
            "energy_sources[0].number_energy_price_export",
        ),
        (
            (2, "config_entry_solar_forecast"),
            "01J",
            "energy_sources[2].config_entry_solar_forecast",
        ),
        ((5, "stat_energy_to"), None, "energy_sources[5].stat_energy_to"),
        ((0, "power_config"), ["sensor.x"], "energy_sources[0].power_config"),
    ],
)
def test_garbage_names_the_field(path: tuple[int, str], value: object, field: str) -> None:
    prefs = copy.deepcopy(PREFS_2026)
    index, key = path
    prefs["energy_sources"][index][key] = value
    with pytest.raises(EnergyPreferencesError) as caught:
        parse_energy_preferences(prefs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("prefs", "field"),
    [
        ([], "preferences"),
        ({"energy_sources": "grid"}, "energy_sources"),
        ({"energy_sources": [{"stat_energy_from": "sensor.x"}]}, "energy_sources[0].type"),
        (
            {"energy_sources": [], "device_consumption": [{"name": "x"}]},
            "device_consumption[0].stat_consumption",
        ),
        (
            {
                "energy_sources": [
                    {"type": "grid", "flow_from": [{"stat_energy_from": 7}], "flow_to": []}
                ]
            },
            "energy_sources[0].flow_from[0].stat_energy_from",
        ),
    ],
)
def test_malformed_preferences_name_the_field(prefs: Any, field: str) -> None:
    with pytest.raises(EnergyPreferencesError) as caught:
        parse_energy_preferences(prefs)
    assert caught.value.field == field
