"""The `[network]` table: the feeder is loaded at start, and a wrong one stops the hub with a
message naming the element; `invite --bus` is checked against the configured feeder."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from hub.cli import main
from hub.config import ConfigError, HubConfig, NetworkSettings, load_config
from hub.grid import FeederError, load_feeder
from hub.service.network import validate_bus
from tests.hub.modes.support import EXAMPLE_FEEDER, THIN_FEEDER, THIN_LINES, hub_toml


def test_without_a_network_table_the_hub_clears_periodically_without_a_feeder() -> None:
    config = load_config(None)

    assert config.network.market_mode == "periodic"
    assert config.network.feeder is None
    assert config.public_info()["market_mode"] == "periodic"
    assert config.public_info()["feeder_configured"] is False


def test_the_feeder_file_is_found_next_to_the_config_file(tmp_path: Path) -> None:
    path = hub_toml(
        tmp_path,
        '[network]\nfeeder_file = "feeder.json"\nmarket_mode = "continuous"\n'
        'backstop = "no_local_trade"\nmust_serve_price = 100\nvoltage_margin_pu = 0.005\n'
        "loading_limit = 0.95\n",
        THIN_FEEDER,
    )

    network = load_config(path).network

    assert network.feeder is not None and network.feeder.name == "Thin street"
    assert network.feeder_file == str(tmp_path / "feeder.json")
    assert network.continuous
    options = network.options
    assert (options.backstop, options.must_serve_price) == ("no_local_trade", 100)
    assert (options.voltage_margin_pu, options.loading_limit) == (0.005, 0.95)


def test_the_example_feeder_loads_by_absolute_path(tmp_path: Path) -> None:
    path = hub_toml(tmp_path, f'[network]\nfeeder_file = "{EXAMPLE_FEEDER}"\n')

    feeder = load_config(path).network.feeder

    assert feeder is not None and len(feeder.buses) == 31


def feeder_with(**changes: object) -> dict[str, object]:
    feeder = copy.deepcopy(THIN_FEEDER)
    feeder.update(changes)
    return feeder


@pytest.mark.parametrize(
    ("feeder", "named"),
    [
        (
            feeder_with(
                lines=[
                    *THIN_LINES,
                    {
                        "name": "C",
                        "from_bus": 2,
                        "to_bus": 0,
                        "r_ohm": 0.1,
                        "x_ohm": 0.1,
                        "limit_kva": 10,
                    },
                ]
            ),
            "line 'C': closes a loop",
        ),
        (
            feeder_with(
                lines=[
                    {
                        "name": "A",
                        "from_bus": 0,
                        "to_bus": 1,
                        "r_ohm": 0.1,
                        "x_ohm": 0.1,
                        "limit_kva": 10,
                    },
                    {
                        "name": "B",
                        "from_bus": 1,
                        "to_bus": 99,
                        "r_ohm": 0.1,
                        "x_ohm": 0.1,
                        "limit_kva": 10,
                    },
                ]
            ),
            "line 'B': to_bus 99 is not a bus of the feeder",
        ),
        (feeder_with(homes={"house-12": 8}), "home 'house-12': bus 8 is not a bus"),
        (feeder_with(transformer={"name": "T", "bus": 0, "limit_kva": 0}), "transformer 'T'"),
    ],
)
def test_a_wrong_feeder_is_a_config_error_naming_the_element(
    tmp_path: Path, feeder: dict[str, object], named: str
) -> None:
    path = hub_toml(tmp_path, '[network]\nfeeder_file = "feeder.json"\n', feeder)

    with pytest.raises(ConfigError, match=r"network\.feeder_file") as caught:
        load_config(path)

    assert named in str(caught.value)


def test_a_missing_feeder_file_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = hub_toml(tmp_path, '[network]\nfeeder_file = "nowhere.json"\n')

    with pytest.raises(ConfigError, match=r"nowhere\.json.*cannot be read"):
        load_config(path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('market_mode = "auction"', "market_mode must be one of"),
        ('backstop = "pray"', "backstop must be one of"),
        ("loading_limit = 2", "loading_limit must be within"),
        ('loading_limit = "high"', "network.loading_limit must be a number, got 'high'"),
        ("feeder = 3", r"unknown setting 'feeder' in \[network\]; did you mean 'feeder_file'\?"),
        ("transformer = 1", "network.transformer needs network.feeder_file"),
    ],
)
def test_wrong_network_settings_are_config_errors(tmp_path: Path, table: str, message: str) -> None:
    path = hub_toml(tmp_path, f"[network]\n{table}\n")

    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_bus_is_valid_when_the_configured_feeder_has_it() -> None:
    validate_bus(HubConfig(), 12345)  # no feeder: any non-negative bus will do
    config = HubConfig(network=NetworkSettings(feeder=load_feeder(EXAMPLE_FEEDER)))

    validate_bus(config, 12)
    with pytest.raises(FeederError, match="bus 31: is not a bus of this feeder"):
        validate_bus(config, 31)
    with pytest.raises(FeederError, match="must be a non-negative integer"):
        validate_bus(config, -1)


def test_invite_refuses_a_bus_the_configured_feeder_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = hub_toml(tmp_path, '[network]\nfeeder_file = "feeder.json"\n', THIN_FEEDER)
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    refused = main(["invite", "House 9", "--bus", "7", "--config", str(config), "--db", db])

    assert refused == 2
    assert "invalid --bus: bus 7: is not a bus of this feeder" in capsys.readouterr().out
    assert main(["invite", "House 9", "--bus", "2", "--config", str(config), "--db", db]) == 0
    assert "Join code for 'House 9'" in capsys.readouterr().out
