"""Feeder files: GridCoop's own JSON (or YAML) format, and pandapower's JSON export.

The format (docs/feeder.md has a full example):

    {
      "format": "gridcoop-feeder/1",
      "name": "Example street",
      "nominal_kv": 0.4,
      "voltage_limits_pu": {"min": 0.95, "max": 1.05},
      "transformer": {"name": "T1", "bus": 0, "limit_kva": 250, "voltage_pu": 1.02,
                      "r_ohm": 0.0077, "x_ohm": 0.0244},
      "buses": [{"id": 0, "name": "LV busbar"}, {"id": 1}],
      "lines": [{"name": "L1", "from_bus": 0, "to_bus": 1, "r_ohm": 0.0062, "x_ohm": 0.0024,
                 "limit_a": 275}],
      "homes": {"house-12": 1}
    }

A line's thermal limit is given either in A ("limit_a", converted at nominal voltage) or in kVA
("limit_kva"). Unknown keys are errors: a misspelt limit must not pass silently.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.grid.errors import FeederError
from hub.grid.model import (
    DEFAULT_V_MAX_PU,
    DEFAULT_V_MIN_PU,
    Bus,
    Feeder,
    Line,
    Transformer,
    kva_from_amps,
)
from hub.grid.pandapower_json import feeder_from_pandapower, is_pandapower_document

FORMAT = "gridcoop-feeder/1"

_TOP_KEYS = {"format", "name", "description", "nominal_kv", "voltage_limits_pu", "transformer"}
_TOP_KEYS |= {"buses", "lines", "homes"}
_TRANSFORMER_KEYS = {"name", "bus", "limit_kva", "voltage_pu", "r_ohm", "x_ohm"}
_BUS_KEYS = {"id", "name"}
_LINE_KEYS = {"name", "from_bus", "to_bus", "r_ohm", "x_ohm", "limit_a", "limit_kva"}


def load_feeder(path: str | Path, *, transformer: int | str | None = None) -> Feeder:
    """Read a feeder file: .json (GridCoop or pandapower export), .yaml/.yml (needs PyYAML).

    `transformer` picks the secondary substation of a pandapower network with several (its index
    or name); GridCoop files have exactly one.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FeederError(f"file {str(path)!r}", f"cannot be read: {error.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _parse_yaml(text, path)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise FeederError(f"file {str(path)!r}", f"is not valid JSON: {error}") from None
    if isinstance(data, dict) and is_pandapower_document(data):
        return feeder_from_pandapower(data, transformer=transformer)
    if transformer is not None:
        raise FeederError("transformer", "can only be chosen when importing a pandapower network")
    return feeder_from_dict(data)


def feeder_from_dict(data: object) -> Feeder:
    """Build a feeder from the parsed GridCoop format (see the module docstring)."""
    top = _mapping(data, "feeder", _TOP_KEYS)
    version = top.get("format", FORMAT)
    if version != FORMAT:
        raise FeederError("feeder", f"format {version!r} is not supported (expected {FORMAT!r})")
    if "nominal_kv" not in top:
        raise FeederError("feeder", "nominal_kv is missing")
    nominal_kv = top["nominal_kv"]
    limits = _mapping(top.get("voltage_limits_pu", {}), "voltage_limits_pu", {"min", "max"})
    buses = tuple(_bus(raw) for raw in _list(top.get("buses"), "buses"))
    lines = tuple(
        _line(raw, index, nominal_kv)
        for index, raw in enumerate(_list(top.get("lines", []), "lines"))
    )
    homes = _mapping(top.get("homes", {}), "homes", None)
    return Feeder(
        name=top.get("name", ""),
        nominal_kv=nominal_kv,  # type-checked by Feeder
        transformer=_transformer(top.get("transformer")),
        buses=buses,
        lines=lines,
        homes=homes,
        v_min_pu=limits.get("min", DEFAULT_V_MIN_PU),
        v_max_pu=limits.get("max", DEFAULT_V_MAX_PU),
    )


def feeder_to_dict(feeder: Feeder) -> dict[str, Any]:
    """The GridCoop format of a feeder (line limits in kVA); feeder_from_dict reads it back."""
    t = feeder.transformer
    return {
        "format": FORMAT,
        "name": feeder.name,
        "nominal_kv": feeder.nominal_kv,
        "voltage_limits_pu": {"min": feeder.v_min_pu, "max": feeder.v_max_pu},
        "transformer": {
            "name": t.name,
            "bus": t.bus,
            "limit_kva": t.limit_kva,
            "voltage_pu": t.voltage_pu,
            "r_ohm": t.r_ohm,
            "x_ohm": t.x_ohm,
        },
        "buses": [{"id": bus.id, "name": bus.name} for bus in feeder.buses],
        "lines": [
            {
                "name": line.name,
                "from_bus": line.from_bus,
                "to_bus": line.to_bus,
                "r_ohm": line.r_ohm,
                "x_ohm": line.x_ohm,
                "limit_kva": line.limit_kva,
            }
            for line in feeder.lines
        ],
        "homes": dict(feeder.homes),
    }


def _parse_yaml(text: str, path: Path) -> object:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise FeederError(
            f"file {str(path)!r}",
            "YAML feeder files need the 'yaml' extra (PyYAML is not installed): "
            "pip install 'gridcoop-hub[yaml]', or use JSON",
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FeederError(f"file {str(path)!r}", f"is not valid YAML: {error}") from None


def _mapping(value: object, where: str, allowed: set[str] | None) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise FeederError(where, f"must be an object, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(set(map(str, value)) - allowed)
        if unknown:
            raise FeederError(where, f"unknown key {unknown[0]!r} (allowed: {sorted(allowed)})")
    return {str(key): item for key, item in value.items()}


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise FeederError(where, f"must be a list, got {type(value).__name__}")
    return value


def _transformer(raw: object) -> Transformer:
    if raw is None:
        raise FeederError("transformer", "is missing")
    data = _mapping(raw, "transformer", _TRANSFORMER_KEYS)
    where = f"transformer {data.get('name', '')!r}"
    for key in ("name", "bus", "limit_kva"):
        if key not in data:
            raise FeederError(where, f"{key} is missing")
    return Transformer(
        name=data["name"],
        bus=data["bus"],
        limit_kva=data["limit_kva"],
        voltage_pu=data.get("voltage_pu", 1.0),
        r_ohm=data.get("r_ohm", 0.0),
        x_ohm=data.get("x_ohm", 0.0),
    )


def _bus(raw: object) -> Bus:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Bus(raw)
    data = _mapping(raw, "buses[]", _BUS_KEYS)
    if "id" not in data:
        raise FeederError(f"bus {data.get('name', '')!r}", "id is missing")
    return Bus(data["id"], data.get("name", ""))


def _line(raw: object, index: int, nominal_kv: object) -> Line:
    data = _mapping(raw, f"lines[{index}]", _LINE_KEYS)
    name = data.get("name", f"line {index}")
    where = f"line {name!r}"
    for key in ("from_bus", "to_bus", "r_ohm", "x_ohm"):
        if key not in data:
            raise FeederError(where, f"{key} is missing")
    has_a, has_kva = "limit_a" in data, "limit_kva" in data
    if has_a == has_kva:
        raise FeederError(where, "give exactly one thermal limit: limit_a or limit_kva")
    limit = data["limit_a"] if has_a else data["limit_kva"]
    if has_a:
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
            raise FeederError(where, f"limit_a must be a number > 0, got {limit!r}")
        if isinstance(nominal_kv, bool) or not isinstance(nominal_kv, int | float):
            raise FeederError("feeder", f"nominal_kv must be a number, got {nominal_kv!r}")
        limit = kva_from_amps(float(limit), float(nominal_kv))
    return Line(name, data["from_bus"], data["to_bus"], data["r_ohm"], data["x_ohm"], limit)
