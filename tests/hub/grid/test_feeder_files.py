"""Specification of feeder files (docs/feeder.md): the GridCoop format and its error messages.

Every mistake in a feeder file is a FeederError whose message names the element at fault.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.grid import Feeder, FeederError, feeder_from_dict, feeder_to_dict, load_feeder
from tests.hub.grid.helpers import EXAMPLE, chain_feeder

SMALL: dict[str, Any] = {
    "format": "gridcoop-feeder/1",
    "name": "small",
    "nominal_kv": 0.4,
    "transformer": {"name": "T1", "bus": 0, "limit_kva": 100},
    "buses": [{"id": 0, "name": "busbar"}, {"id": 7}, {"id": 9}],
    "lines": [
        {"name": "A", "from_bus": 0, "to_bus": 7, "r_ohm": 0.02, "x_ohm": 0.01, "limit_a": 100},
        {"name": "B", "from_bus": 7, "to_bus": 9, "r_ohm": 0.03, "x_ohm": 0.01, "limit_kva": 50},
    ],
    "homes": {"house-12": 7},
}


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def error_of(data: dict[str, Any]) -> FeederError:
    with pytest.raises(FeederError) as caught:
        feeder_from_dict(data)
    return caught.value


# --- reading ----------------------------------------------------------------------------------


def test_the_example_feeder_loads_with_its_homes() -> None:
    feeder = load_feeder(EXAMPLE)

    assert (len(feeder.buses), len(feeder.lines), len(feeder.homes)) == (31, 30, 60)
    assert feeder.transformer.limit_kva == 250
    assert (feeder.v_min_pu, feeder.v_max_pu) == (0.95, 1.05)
    assert feeder.homes["home-01"] == 1


def test_a_line_limit_in_amps_becomes_kva_at_nominal_voltage() -> None:
    feeder = feeder_from_dict(SMALL)

    line_a = feeder.lines[0]
    assert line_a.limit_kva == pytest.approx(math.sqrt(3) * 0.4 * 100)  # 69.3 kVA
    assert feeder.lines[1].limit_kva == 50


def test_defaults_voltage_band_and_an_ideal_transformer() -> None:
    feeder = feeder_from_dict(SMALL)

    assert (feeder.v_min_pu, feeder.v_max_pu) == (0.95, 1.05)
    assert (feeder.transformer.voltage_pu, feeder.transformer.r_ohm) == (1.0, 0.0)


def test_bus_ids_are_free_integers_and_the_tree_starts_at_the_transformer() -> None:
    feeder = feeder_from_dict(SMALL)

    assert feeder.bus_ids == (0, 7, 9)
    assert feeder.position_of(9) == 2


def test_round_trip_through_the_gridcoop_format(tmp_path: Path) -> None:
    original = load_feeder(EXAMPLE)
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(feeder_to_dict(original)))

    assert load_feeder(path) == original


def test_yaml_files_read_like_json(tmp_path: Path) -> None:
    # PyYAML is optional for the hub (the `yaml` extra) but part of the test extra: no skipping.
    import yaml

    path = tmp_path / "feeder.yaml"
    path.write_text(yaml.safe_dump(SMALL))

    assert load_feeder(path) == feeder_from_dict(SMALL)


def test_without_pyyaml_a_yaml_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # what `import yaml` meets without PyYAML
    path = tmp_path / "feeder.yml"
    path.write_text("name: x\n")

    with pytest.raises(FeederError, match="YAML feeder files need the 'yaml' extra"):
        load_feeder(path)


def test_homes_can_be_attached_later_and_are_validated() -> None:
    feeder = feeder_from_dict(SMALL).with_homes({"a": 9, "b": 0})

    assert dict(feeder.homes) == {"a": 9, "b": 0}
    with pytest.raises(FeederError, match=r"home 'c': bus 8 is not a bus"):
        feeder.with_homes({"c": 8})


# --- bad input: every error names the element -----------------------------------------------------


def test_a_loop_is_refused_naming_the_line_that_closes_it() -> None:
    data = small()
    data["lines"].append(
        {"name": "C", "from_bus": 9, "to_bus": 0, "r_ohm": 0.1, "x_ohm": 0.0, "limit_kva": 10}
    )

    error = error_of(data)
    assert error.element == "line 'C'"
    assert "closes a loop" in str(error)


def test_a_line_to_a_missing_bus_is_refused() -> None:
    data = small()
    data["lines"][1]["to_bus"] = 99

    assert str(error_of(data)) == "line 'B': to_bus 99 is not a bus of the feeder"


def test_a_bus_without_connection_is_refused() -> None:
    data = small()
    data["buses"].append({"id": 42})

    assert str(error_of(data)) == "bus 42: is not connected to the transformer bus 0"


def test_a_home_on_an_unknown_bus_is_refused() -> None:
    assert str(error_of(small(homes={"house-12": 8}))) == (
        "home 'house-12': bus 8 is not a bus of the feeder"
    )


@pytest.mark.parametrize(
    ("line_changes", "message"),
    [
        ({"r_ohm": -0.1}, "line 'A': r_ohm must be >= 0, got -0.1"),
        ({"x_ohm": float("nan")}, "line 'A': x_ohm must be finite"),
        ({"limit_a": 0}, "line 'A': limit_a must be a number > 0, got 0"),
        ({"limit_kva": 10}, "line 'A': give exactly one thermal limit"),
        ({"r_ohm": "0.1"}, "line 'A': r_ohm must be a number"),
        ({"limt_a": 5}, "lines[0]: unknown key 'limt_a'"),
    ],
)
def test_non_physical_line_values_are_refused(line_changes: dict[str, Any], message: str) -> None:
    data = small()
    data["lines"][0].update(line_changes)

    assert str(error_of(data)).startswith(message)


@pytest.mark.parametrize(
    ("transformer_changes", "message"),
    [
        ({"limit_kva": 0}, "transformer 'T1': limit_kva must be > 0"),
        ({"bus": 5}, "transformer 'T1': bus 5 is not a bus of the feeder"),
        ({"voltage_pu": 1.5}, "transformer 'T1': voltage_pu 1.5 is implausible"),
        ({"r_ohm": -1}, "transformer 'T1': r_ohm must be >= 0"),
    ],
)
def test_non_physical_transformers_are_refused(
    transformer_changes: dict[str, Any], message: str
) -> None:
    data = small()
    data["transformer"].update(transformer_changes)

    assert str(error_of(data)).startswith(message)


def test_other_mistakes_name_what_is_wrong() -> None:
    assert "bus 7: is defined twice" in str(
        error_of(small(buses=[{"id": 0}, {"id": 7}, {"id": 7}]))
    )
    assert str(error_of(small(nominal_kv=0))) == "feeder: nominal_kv must be > 0, got 0"
    inverted = small(voltage_limits_pu={"min": 1.05, "max": 0.95})
    assert "v_min_pu 1.05 must be below v_max_pu 0.95" in str(error_of(inverted))
    assert "unknown key 'colour'" in str(error_of(small(colour="red")))
    assert "format 'other/2' is not supported" in str(error_of(small(format="other/2")))
    duplicate = small()
    duplicate["lines"][1]["name"] = "A"
    assert str(error_of(duplicate)).startswith("line 'A': name is used twice")


def test_unreadable_files_are_feeder_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    with pytest.raises(FeederError, match="is not valid JSON"):
        load_feeder(broken)
    with pytest.raises(FeederError, match="cannot be read"):
        load_feeder(tmp_path / "missing.json")


def test_feeders_built_in_code_are_validated_too() -> None:
    with pytest.raises(FeederError, match="line 'L1': r_ohm must be >= 0"):
        chain_feeder(3, r_ohm=-0.01)
    assert isinstance(chain_feeder(3), Feeder)
