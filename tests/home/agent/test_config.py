"""agent.toml: what parses, and a clear error naming the setting for everything that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.agent.config import Modbus, load_config, parse_config
from gridcoop_home.agent.settings import ConfigError
from gridcoop_home.planner import Profile

BASE = Path("/etc/gridcoop")


def minimal(**extra: Any) -> dict[str, Any]:
    return {"keys": "home-keys.json", "mqtt": {}, "meters": [{"kind": "grid"}], **extra}


def test_a_minimal_file_takes_the_documented_defaults() -> None:
    config = parse_config(minimal(), BASE)
    assert config.keys == BASE / "home-keys.json"  # relative to the config file
    assert config.state_file == BASE / "agent-state.json"
    assert config.reading_interval_seconds == 60
    assert config.mqtt is not None
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.prefix) == (
        "127.0.0.1",
        1883,
        "gridcoop",
    )
    assert config.meters[0].source == "mqtt"
    assert config.site.profile is Profile.MAX_INCOME and config.site.participate
    assert config.battery is None and config.ev is None and config.loads == ()


def test_every_section_parses() -> None:
    config = parse_config(
        minimal(
            meters=[
                {"kind": "grid", "source": "sunspec", "host": "10.0.0.5", "unit_id": 200},
                {"kind": "pv"},
            ],
            site={"grid_limit_kw": 11, "profile": "min_carbon", "participate": False},
            battery={"capacity_kwh": 10, "max_power_kw": 5, "reserve_pct": 20, "host": "10.0.0.6"},
            pv={"peak_kw": 6.5},
            ev={"capacity_kwh": 60, "max_power_kw": 11, "departure": "06:30"},
            loads=[{"id": "dishwasher", "power_w": 1800, "duration_min": 90}],
        ),
        BASE,
    )
    assert config.meters[0].modbus == Modbus("10.0.0.5", 502, 200)
    assert config.battery is not None and config.battery.modbus == Modbus("10.0.0.6")
    assert config.pv_peak_kw == 6.5
    assert config.ev is not None and config.ev.departure.hour == 6
    assert config.loads[0].id == "dishwasher"
    assert config.site.profile is Profile.MIN_CARBON and not config.site.participate


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keys": None}, "keys is missing"),
        ({"reading_interval_seconds": 0}, "reading_interval_seconds must be an integer from 1"),
        ({"reading_interval_seconds": "60"}, "reading_interval_seconds must be an integer"),
        ({"mqtt": {"port": "x"}}, "mqtt.port must be an integer from 1 to 65535, got 'x'"),
        ({"mqtt": {"prefix": "home/#"}}, "mqtt.prefix must not contain + #"),
        ({"mqtt": {"prefix": "/home"}}, "mqtt.prefix must not start with $ or /"),
        ({"mqtt": {"hots": "x"}}, "mqtt.hots is not a setting here"),
        ({"mqtt": "127.0.0.1"}, "mqtt must be a table"),
        ({"meters": []}, "meters is missing"),
        ({"meters": {"kind": "grid"}}, "meters must be a list of tables"),
        ({"meters": [{"kind": "heatpump"}]}, "meters[0].kind must be one of"),
        ({"meters": [{"kind": "grid", "source": "modbus"}]}, "meters[0].source must be one of"),
        ({"meters": [{"kind": "grid", "source": "sunspec"}]}, "meters[0].host is missing"),
        ({"meters": [{"kind": "grid", "host": "x"}]}, "meters[0].host is for source = 'sunspec'"),
        (
            {"meters": [{"kind": "grid"}, {"kind": "grid"}]},
            "meters[1].kind 'grid' is already read by meters[0]",
        ),
        ({"mqtt": None}, "meters[0].source is 'mqtt' but there is no [mqtt] table"),
        ({"site": {"profile": "greedy"}}, "site.profile must be one of"),
        ({"site": {"participate": "yes"}}, "site.participate must be true or false"),
        ({"site": {"latitude": 91}}, "site.latitude must be a number from -90 to 90"),
        ({"battery": {"max_power_kw": 5}}, "battery.capacity_kwh is missing"),
        ({"battery": {"capacity_kwh": True, "max_power_kw": 5}}, "battery.capacity_kwh must be"),
        ({"pv": {"peak": 5}}, "pv.peak is not a setting here"),
        ({"ev": {"capacity_kwh": 60, "max_power_kw": 11, "departure": "7am"}}, "ev.departure"),
        ({"loads": [{"id": "a", "power_w": 1, "duration_min": 0}]}, "loads[0].duration_min"),
        (
            {"loads": [{"id": "a", "power_w": 1, "duration_min": 1}] * 2},
            "loads[1].id 'a' is used twice",
        ),
        ({"loads": [{"id": "a/b", "power_w": 1, "duration_min": 1}]}, "loads[0].id"),
        ({"heartbeat": 5}, "heartbeat is not a setting here"),
    ],
)
def test_a_bad_setting_is_named(change: dict[str, Any], message: str) -> None:
    data = minimal()
    for key, value in change.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    with pytest.raises(ConfigError) as err:
        parse_config(data, BASE)
    assert message in str(err.value)


def test_a_battery_without_a_state_of_charge_source_is_refused() -> None:
    data = minimal(
        meters=[{"kind": "grid", "source": "sunspec", "host": "x"}],
        battery={"capacity_kwh": 10, "max_power_kw": 5},
    )
    del data["mqtt"]
    with pytest.raises(ConfigError, match=r"battery: its state of charge needs \[mqtt\]"):
        parse_config(data, BASE)


def test_a_file_that_is_not_toml_or_missing_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text("keys = \n")
    with pytest.raises(ConfigError, match=r"agent\.toml is not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_config(tmp_path / "missing.toml")
