"""The feeder model: buses, lines, the transformer and the homes attached to buses.

Units: resistance and reactance in ohm (per phase, positive sequence), thermal limits in kVA
(three-phase apparent power), voltages in kV line-to-line or per unit of `nominal_kv`.
A feeder validates itself on construction and indexes its radial tree, so the power flow and the
clearing can trust it. Every error is a FeederError naming the element.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from hub.grid.errors import FeederError
from hub.grid.topology import RadialTree, build_tree

FloatArray = NDArray[np.float64]

DEFAULT_V_MIN_PU = 0.95
DEFAULT_V_MAX_PU = 1.05

# How far inside its ratings the clearing keeps a feeder unless told otherwise. LinDistFlow ignores
# losses (under load the AC voltages sag lower than it says: up to 0.005 p.u. on the example feeder)
# and rates a branch by its power at nominal voltage (the AC current is higher by 1/V below 1 p.u.).
# At the ratings themselves evening-peak clearings on examples/feeders/lindenweg.json broke the AC
# limits (a line at 103.3 %, the transformer at 103.7 %, a bus at 0.9464 p.u.); with these margins
# none did (tests/hub/grid/test_safe_defaults.py checks them with pandapower's AC power flow).
DEFAULT_VOLTAGE_MARGIN_PU = 0.005
DEFAULT_LOADING_LIMIT = 0.95
MAX_VOLTAGE_MARGIN_PU = 0.05  # exclusive: a margin that wide would close the usual 0.95-1.05 band
MIN_LOADING_LIMIT = 0.5


def check_limit_margins(voltage_margin_pu: float, loading_limit: float) -> None:
    """Raise ValueError unless the margins are numbers in their ranges (names as in hub.toml)."""
    for name, value in (("voltage_margin_pu", voltage_margin_pu), ("loading_limit", loading_limit)):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
    if not 0.0 <= voltage_margin_pu < MAX_VOLTAGE_MARGIN_PU:
        raise ValueError(
            f"voltage_margin_pu must be within [0, {MAX_VOLTAGE_MARGIN_PU}), "
            f"got {voltage_margin_pu}"
        )
    if not MIN_LOADING_LIMIT <= loading_limit <= 1.0:
        raise ValueError(
            f"loading_limit must be within [{MIN_LOADING_LIMIT}, 1], got {loading_limit}"
        )


def kva_from_amps(amps: float, nominal_kv: float) -> float:
    """Three-phase apparent power carried by `amps` at the nominal line-to-line voltage."""
    return math.sqrt(3.0) * nominal_kv * amps


@dataclass(frozen=True, slots=True)
class Bus:
    id: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """A cable or overhead line; `limit_kva` is its thermal limit at nominal voltage."""

    name: str
    from_bus: int
    to_bus: int
    r_ohm: float
    x_ohm: float
    limit_kva: float


@dataclass(frozen=True, slots=True)
class Transformer:
    """The secondary substation: feeds `bus` (the slack bus) from the upstream grid.

    `voltage_pu` is held on the transformer's secondary behind its series impedance (r_ohm,
    x_ohm referred to the low-voltage side); with zero impedance it is the slack bus voltage.
    """

    name: str
    bus: int
    limit_kva: float
    voltage_pu: float = 1.0
    r_ohm: float = 0.0
    x_ohm: float = 0.0


@dataclass(frozen=True, slots=True)
class Feeder:
    """A radial low-voltage feeder. `homes` maps home_id -> bus id."""

    name: str
    nominal_kv: float
    transformer: Transformer
    buses: tuple[Bus, ...]
    lines: tuple[Line, ...]
    homes: Mapping[str, int] = field(default_factory=dict)
    v_min_pu: float = DEFAULT_V_MIN_PU
    v_max_pu: float = DEFAULT_V_MAX_PU
    tree: RadialTree = field(init=False, repr=False, compare=False)
    # Per tree position: the branch feeding that bus (the transformer at position 0).
    branch_r_ohm: FloatArray = field(init=False, repr=False, compare=False)
    branch_x_ohm: FloatArray = field(init=False, repr=False, compare=False)
    branch_limit_kva: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "homes", MappingProxyType(dict(self.homes)))
        self._validate_values()
        tree = build_tree(
            [bus.id for bus in self.buses],
            [(line.name, line.from_bus, line.to_bus) for line in self.lines],
            self.transformer.bus,
        )
        object.__setattr__(self, "tree", tree)
        branch = [self.lines[i] if i >= 0 else self.transformer for i in tree.line_index.tolist()]
        for name, attribute in (
            ("branch_r_ohm", "r_ohm"),
            ("branch_x_ohm", "x_ohm"),
            ("branch_limit_kva", "limit_kva"),
        ):
            values = np.array([getattr(b, attribute) for b in branch], dtype=np.float64)
            object.__setattr__(self, name, values)

    # --- queries ----------------------------------------------------------------------------

    @property
    def bus_ids(self) -> tuple[int, ...]:
        """Bus ids in tree order (the transformer bus first)."""
        return self.tree.bus_ids

    def position_of(self, bus: int) -> int:
        try:
            return self.tree.position[bus]
        except KeyError:
            raise FeederError(f"bus {bus}", "is not a bus of this feeder") from None

    def branch_name(self, position: int) -> str:
        """Name of the element feeding the bus at a tree position."""
        index = int(self.tree.line_index[position])
        return self.transformer.name if index < 0 else self.lines[index].name

    def with_homes(self, homes: Mapping[str, int]) -> Feeder:
        """The same feeder with another home -> bus map (validated)."""
        return replace(self, homes=homes)

    # --- validation -------------------------------------------------------------------------

    def _validate_values(self) -> None:
        _text(self.name, "feeder", "name", allow_empty=True)
        _positive(self.nominal_kv, "feeder", "nominal_kv")
        _positive(self.v_min_pu, "feeder", "v_min_pu")
        _positive(self.v_max_pu, "feeder", "v_max_pu")
        if self.v_min_pu >= self.v_max_pu:
            raise FeederError(
                "feeder", f"v_min_pu {self.v_min_pu} must be below v_max_pu {self.v_max_pu}"
            )
        if not self.buses:
            raise FeederError("feeder", "has no buses")
        bus_ids: set[int] = set()
        for bus in self.buses:
            if not isinstance(bus, Bus):
                raise FeederError("feeder", f"buses must be Bus, got {type(bus).__name__}")
            _bus_id(bus.id, f"bus {bus.id!r}", "id")
            if bus.id in bus_ids:
                raise FeederError(f"bus {bus.id}", "is defined twice")
            _text(bus.name, f"bus {bus.id}", "name", allow_empty=True)
            bus_ids.add(bus.id)
        self._validate_transformer(bus_ids)
        names: set[str] = {self.transformer.name}
        for line in self.lines:
            if not isinstance(line, Line):
                raise FeederError("feeder", f"lines must be Line, got {type(line).__name__}")
            _text(line.name, "line", "name")
            where = f"line {line.name!r}"
            if line.name in names:
                raise FeederError(where, "name is used twice (names must be unique)")
            names.add(line.name)
            for attribute in ("from_bus", "to_bus"):
                bus = getattr(line, attribute)
                _bus_id(bus, where, attribute)
                if bus not in bus_ids:
                    raise FeederError(where, f"{attribute} {bus} is not a bus of the feeder")
            _non_negative(line.r_ohm, where, "r_ohm")
            _non_negative(line.x_ohm, where, "x_ohm")
            _positive(line.limit_kva, where, "limit_kva")
        for home_id, home_bus in self.homes.items():
            if not isinstance(home_id, str) or not home_id:
                raise FeederError(f"home {home_id!r}", "home_id must be a non-empty string")
            _bus_id(home_bus, f"home {home_id!r}", "bus")
            if home_bus not in bus_ids:
                raise FeederError(f"home {home_id!r}", f"bus {home_bus} is not a bus of the feeder")

    def _validate_transformer(self, bus_ids: set[int]) -> None:
        transformer = self.transformer
        if not isinstance(transformer, Transformer):
            raise FeederError("transformer", "must be a Transformer")
        _text(transformer.name, "transformer", "name")
        where = f"transformer {transformer.name!r}"
        _bus_id(transformer.bus, where, "bus")
        if transformer.bus not in bus_ids:
            raise FeederError(where, f"bus {transformer.bus} is not a bus of the feeder")
        _positive(transformer.limit_kva, where, "limit_kva")
        _non_negative(transformer.r_ohm, where, "r_ohm")
        _non_negative(transformer.x_ohm, where, "x_ohm")
        _positive(transformer.voltage_pu, where, "voltage_pu")
        if not 0.8 <= transformer.voltage_pu <= 1.2:
            raise FeederError(
                where, f"voltage_pu {transformer.voltage_pu} is implausible (expected 0.8-1.2)"
            )


def _number(value: object, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeederError(where, f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise FeederError(where, f"{what} must be finite, got {value!r}")
    return number


def _positive(value: object, where: str, what: str) -> None:
    if _number(value, where, what) <= 0:
        raise FeederError(where, f"{what} must be > 0, got {value!r}")


def _non_negative(value: object, where: str, what: str) -> None:
    if _number(value, where, what) < 0:
        raise FeederError(where, f"{what} must be >= 0, got {value!r}")


def _bus_id(value: object, where: str, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FeederError(where, f"{what} must be a non-negative integer bus id, got {value!r}")


def _text(value: object, where: str, what: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise FeederError(where, f"{what} must be a non-empty string, got {value!r}")
