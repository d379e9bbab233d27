"""Import a radial low-voltage feeder from a pandapower network saved with `pandapower.to_json`.

Reads the file's JSON directly, so the hub needs neither pandapower nor pandas to use standard test
feeders (CIGRE LV, Kerber). What is imported: the chosen transformer and every in-service line
reachable from its low-voltage bus. Closed bus-bus switches merge buses, open line switches take
their line out. The transformer becomes a series impedance referred to the low-voltage side
(vk_percent, vkr_percent, sn_mva) behind the external grid's voltage scaled by its ratio and tap;
magnetising losses (pfe_kw, i0_percent), phase shift and the medium-voltage network upstream are
ignored. Loads and generators are not homes and are not imported.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from hub.grid.errors import FeederError
from hub.grid.model import Bus, Feeder, Line, Transformer, kva_from_amps

Row = dict[str, Any]
BusMap = Callable[[int], int]  # pandapower bus index -> the bus it is merged into


def is_pandapower_document(data: object) -> bool:
    return isinstance(data, Mapping) and data.get("_class") == "pandapowerNet"


def feeder_from_pandapower(data: Mapping[str, Any], *, transformer: int | str | None) -> Feeder:
    net = data.get("_object")
    if not isinstance(net, Mapping):
        raise FeederError("pandapower network", "has no '_object' with its tables")
    buses = {row["index"]: row for row in _table(net, "bus") if _in_service(row)}
    trafo = _choose_transformer(_table(net, "trafo"), transformer)
    merged = _merged_buses(_table(net, "switch", required=False), buses)
    open_lines = {
        row["element"]
        for row in _table(net, "switch", required=False)
        if row.get("et") == "l" and not row.get("closed", True)
    }

    root = merged(_integer(trafo, "lv_bus", _trafo_name(trafo)))
    if root not in buses:
        raise FeederError(_trafo_name(trafo), f"low-voltage bus {root} is not in service")
    nominal_kv = _number(buses[root], "vn_kv", f"bus {root}")
    candidates = [
        row for row in _table(net, "line") if _in_service(row) and row["index"] not in open_lines
    ]
    lines, reached = _reachable_lines(candidates, merged, buses, root)
    return Feeder(
        name=str(net.get("name") or "pandapower network"),
        nominal_kv=nominal_kv,
        transformer=_transformer(trafo, net, buses, merged, root),
        buses=tuple(Bus(bus, str(buses[bus].get("name") or "")) for bus in sorted(reached)),
        lines=tuple(_line(row, merged, nominal_kv) for row in lines),
    )


def _table(net: Mapping[str, Any], name: str, *, required: bool = True) -> list[Row]:
    """Rows of a pandas DataFrame as pandapower serialises it (orient 'split')."""
    raw = net.get(name)
    if raw is None:
        if required:
            raise FeederError("pandapower network", f"has no {name!r} table")
        return []
    payload = raw.get("_object") if isinstance(raw, Mapping) else None
    if isinstance(payload, str):
        payload = json.loads(payload)
    orient = raw.get("orient", "split") if isinstance(raw, Mapping) else None
    if orient == "split" and isinstance(payload, Mapping):
        columns = payload.get("columns", [])
        rows = [dict(zip(columns, values, strict=True)) for values in payload.get("data", [])]
        for row, index in zip(rows, payload.get("index", []), strict=True):
            row["index"] = index
        return rows
    raise FeederError("pandapower network", f"table {name!r} is not a DataFrame it can read")


def _in_service(row: Row) -> bool:
    return row.get("in_service", True) is not False


def _trafo_name(row: Row) -> str:
    return f"transformer {row.get('name') or row['index']!r}"


def _choose_transformer(rows: list[Row], choice: int | str | None) -> Row:
    in_service = [row for row in rows if _in_service(row)]
    if choice is not None:
        for row in in_service:
            if choice in (row["index"], row.get("name")):
                return row
        raise FeederError(f"transformer {choice!r}", "is not an in-service transformer")
    if len(in_service) != 1:
        names = [row.get("name") or row["index"] for row in in_service]
        raise FeederError(
            "transformer",
            f"the network has {len(in_service)} in-service transformers {names}; choose one",
        )
    return in_service[0]


def _merged_buses(switches: list[Row], buses: Mapping[int, Row]) -> BusMap:
    """A function mapping a bus to the lowest bus it is tied to by closed bus-bus switches."""
    parent: dict[int, int] = {}

    def find(bus: int) -> int:
        while parent.get(bus, bus) != bus:
            bus = parent[bus]
        return bus

    for row in switches:
        if row.get("et") == "b" and row.get("closed", True):
            a, b = find(int(row["bus"])), find(int(row["element"]))
            if a != b and a in buses and b in buses:
                parent[max(a, b)] = min(a, b)
    return find


def _reachable_lines(
    rows: list[Row], merged: BusMap, buses: Mapping[int, Row], root: int
) -> tuple[list[Row], set[int]]:
    """In-service lines connected to `root` (each named uniquely in '_name'), and their buses."""
    adjacency: dict[int, list[Row]] = {}
    for row in rows:
        a, b = merged(int(row["from_bus"])), merged(int(row["to_bus"]))
        if a in buses and b in buses:
            adjacency.setdefault(a, []).append(row)
            adjacency.setdefault(b, []).append(row)
    reached, frontier = {root}, [root]
    taken: list[Row] = []
    used: set[int] = set()
    while frontier:
        bus = frontier.pop()
        for row in adjacency.get(bus, []):
            if row["index"] in used:
                continue
            used.add(row["index"])
            taken.append(row)
            for end in (merged(int(row["from_bus"])), merged(int(row["to_bus"]))):
                if end not in reached:
                    reached.add(end)
                    frontier.append(end)
    taken.sort(key=lambda row: int(row["index"]))
    names = [str(row.get("name") or f"line {row['index']}") for row in taken]
    counts = Counter(names)
    # Names must be unique in a feeder; pandapower does not insist, so disambiguate by index.
    named = [
        row | {"_name": name if counts[name] == 1 else f"{name} [{row['index']}]"}
        for row, name in zip(taken, names, strict=True)
    ]
    return named, reached


def _line(row: Row, merged: BusMap, nominal_kv: float) -> Line:
    name = str(row["_name"])
    where = f"line {name!r}"
    length = _number(row, "length_km", where)
    parallel = _number(row, "parallel", where, default=1.0)
    derate = _number(row, "df", where, default=1.0)
    amps = _number(row, "max_i_ka", where) * 1000.0 * derate * parallel
    if amps <= 0 or parallel <= 0:
        raise FeederError(where, f"thermal limit must be > 0 (max_i_ka x df x parallel = {amps} A)")
    return Line(
        name=name,
        from_bus=merged(int(row["from_bus"])),
        to_bus=merged(int(row["to_bus"])),
        r_ohm=_number(row, "r_ohm_per_km", where) * length / parallel,
        x_ohm=_number(row, "x_ohm_per_km", where) * length / parallel,
        limit_kva=kva_from_amps(amps, nominal_kv),
    )


def _transformer(
    row: Row, net: Mapping[str, Any], buses: Mapping[int, Row], merged: BusMap, root: int
) -> Transformer:
    where = _trafo_name(row)
    sn_mva = _number(row, "sn_mva", where)
    parallel = _number(row, "parallel", where, default=1.0)
    vn_lv = _number(row, "vn_lv_kv", where)
    vn_hv = _number(row, "vn_hv_kv", where)
    vk = _number(row, "vk_percent", where) / 100.0
    vkr = _number(row, "vkr_percent", where) / 100.0
    if sn_mva <= 0 or vk <= 0 or vkr < 0 or vkr > vk:
        raise FeederError(where, "needs sn_mva > 0 and 0 <= vkr_percent <= vk_percent > 0")
    z_base = vn_lv**2 / sn_mva  # ohm on the low-voltage side
    hv_bus = merged(_integer(row, "hv_bus", where))
    if hv_bus not in buses:
        raise FeederError(where, f"high-voltage bus {hv_bus} is not in service")
    # Off-nominal ratio: rated voltages against the buses' nominal voltages, then the tap.
    ratio = (vn_lv / _number(buses[root], "vn_kv", f"bus {root}")) / (
        vn_hv / _number(buses[hv_bus], "vn_kv", f"bus {hv_bus}")
    )
    ratio /= _tap_factor(row, where)
    return Transformer(
        name=str(row.get("name") or f"trafo {row['index']}"),
        bus=root,
        limit_kva=sn_mva * 1000.0 * parallel,
        voltage_pu=_grid_voltage(net, merged, hv_bus) * ratio,
        r_ohm=vkr * z_base / parallel,
        x_ohm=math.sqrt(vk**2 - vkr**2) * z_base / parallel,
    )


def _tap_factor(row: Row, where: str) -> float:
    """How much the tap raises the tapped winding's voltage: HV side lowers the LV voltage."""
    keys = ("tap_pos", "tap_neutral", "tap_step_percent")
    if any(row.get(key) is None or row.get(key) != row.get(key) for key in keys):  # None or NaN
        return 1.0
    position, neutral, step = (_number(row, key, where) for key in keys)
    factor = 1.0 + (position - neutral) * step / 100.0
    side = row.get("tap_side")
    if side == "hv":
        return factor
    if side == "lv":
        return 1.0 / factor
    raise FeederError(where, f"tap_side {side!r} is not 'hv' or 'lv'")


def _grid_voltage(net: Mapping[str, Any], merged: BusMap, hv_bus: int) -> float:
    grids = [row for row in _table(net, "ext_grid") if _in_service(row)]
    if not grids:
        raise FeederError("pandapower network", "has no in-service ext_grid (slack)")
    # Prefer the external grid on the transformer's high-voltage bus; else take the first one.
    at_hv = [row for row in grids if merged(int(row["bus"])) == hv_bus]
    row = (at_hv or grids)[0]
    return _number(row, "vm_pu", f"ext_grid {row['index']}", default=1.0)


def _number(row: Row, key: str, where: str, default: float | None = None) -> float:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if default is not None:
            return default
        raise FeederError(where, f"{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeederError(where, f"{key} must be a number, got {value!r}")
    return float(value)


def _integer(row: Row, key: str, where: str) -> int:
    return int(_number(row, key, where))
