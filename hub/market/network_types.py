"""Value types of network-constrained clearing: its options and its outcome.

See hub.market.network for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.grid.errors import FeederError
from hub.grid.lindistflow import PowerFlow
from hub.grid.model import DEFAULT_LOADING_LIMIT, DEFAULT_VOLTAGE_MARGIN_PU, check_limit_margins
from hub.grid.opf import LpStats
from hub.market.types import ClearingResult

BACKSTOPS = ("merit_order", "no_local_trade")


@dataclass(frozen=True, slots=True)
class NetworkOptions:
    """How the network is enforced.

    must_serve_price: buy steps priced at or above it (and at least at the retail price) are
      demand the hub cannot curtail; if the feeder cannot carry them the backstop decides.
      None: every step may be curtailed.
    backstop: what clears when the network cannot be satisfied: "merit_order" (the market as if
      the feeder were unlimited) or "no_local_trade" (everyone trades with the grid only).
    voltage_margin_pu: tightens the voltage band on both sides, to cover the LinDistFlow error
      (LinDistFlow ignores losses). Default 0.005 p.u.
    loading_limit: the highest branch loading allowed (1.0 = thermal limit). LinDistFlow loading is
      apparent power over the limit at nominal voltage; the current is higher by 1/V below 1 p.u.,
      so the default 0.95 keeps currents within the rating anywhere inside a 0.95-1.05 p.u. band.
      (The defaults are hub.grid.model's: at the ratings themselves AC limits broke.)
    presolve: HiGHS presolve; off by default (it does not pay on these models).
    always_lp: solve the LP even when the merit order is within limits (tests and benchmarks).
    """

    must_serve_price: int | None = None
    backstop: str = "merit_order"
    voltage_margin_pu: float = DEFAULT_VOLTAGE_MARGIN_PU
    loading_limit: float = DEFAULT_LOADING_LIMIT
    presolve: bool = False
    always_lp: bool = False

    def __post_init__(self) -> None:
        if self.backstop not in BACKSTOPS:
            raise ValueError(f"backstop must be one of {BACKSTOPS}, got {self.backstop!r}")
        check_limit_margins(self.voltage_margin_pu, self.loading_limit)
        price = self.must_serve_price
        if price is not None and (isinstance(price, bool) or not isinstance(price, int)):
            raise ValueError(f"must_serve_price must be an int or None, got {price!r}")


@dataclass(frozen=True, slots=True)
class BindingLimit:
    """A network limit that constrained the clearing.

    kind: 'thermal' (element: line or transformer name; limit/value: loading, 1.0 = rated) or
    'voltage_max' / 'voltage_min' (element: "bus <id>"; limit/value: voltage in p.u.). `value`
    is the LinDistFlow estimate at the LP's optimum.
    """

    kind: str
    element: str
    limit: float
    value: float

    def describe(self) -> str:
        if self.kind == "thermal":
            return f"{self.element} at its thermal limit"
        bound = "maximum" if self.kind == "voltage_max" else "minimum"
        return f"voltage at {self.element} at its {self.limit:g} p.u. {bound}"


@dataclass(frozen=True, slots=True)
class NodalPrice:
    """What energy costs at `bus`: every price there is its base price plus `congestion`.

    price: local trades (system price + congestion; None when nothing trades locally);
    import_price / export_price: grid trades (retail / feed-in + congestion). `reasons` are the
    limits that moved the bus's price, strongest first.
    """

    bus: int
    price: int | None
    import_price: int
    export_price: int
    congestion: int
    reasons: tuple[BindingLimit, ...]


@dataclass(frozen=True, slots=True)
class Curtailment:
    """Dispatch hint: energy the merit order gave a home that the network could not carry (Wh)."""

    home_id: str
    bus: int
    buy_wh: int
    sell_wh: int


@dataclass(frozen=True, slots=True, eq=False)
class NetworkClearing:
    """Outcome of one interval on a feeder.

    `clearing` has the same shape as clear_uniform_price's result (its price is the system price)
    so results, dispatch and the ledger work unchanged. method: "merit_order" (no limit binds),
    "lp" (network-constrained) or "backstop" (see fallback_reason). `flow` is the LinDistFlow
    estimate of the cleared dispatch (None when some home has no bus).
    """

    clearing: ClearingResult
    method: str
    nodal_prices: tuple[NodalPrice, ...]
    binding: tuple[BindingLimit, ...]
    curtailment: tuple[Curtailment, ...]
    congestion_rent_mminor: int
    fallback_reason: str | None
    flow: PowerFlow | None
    lp: LpStats | None

    def price_at(self, bus: int) -> NodalPrice:
        for nodal in self.nodal_prices:
            if nodal.bus == bus:
                return nodal
        raise FeederError(f"bus {bus}", "is not a bus of this feeder")
