"""The feeder in the running hub: which bus each home is on, clearing within the feeder's limits,
and what is published about the network (docs/feeder.md).

The network maths is pure (hub.grid, hub.market.network); this module only maps the store's homes
onto the configured feeder and turns a NetworkClearing into records and public JSON.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from hub.config import DEFAULT_CONNECTION_LIMIT_KW, HubConfig
from hub.grid import Bus, Feeder, FeederError, Transformer
from hub.market import BindingLimit, MarketRules, NetworkClearing, NodalPrice, Order, clear_network
from hub.store.records import AllocationRecord, HomeRecord, IntervalRecord

_LOGGER = logging.getLogger(__name__)


def validate_bus(config: HubConfig, bus: int) -> None:
    """Raise FeederError (naming the bus) unless `bus` may be given to a home: a bus of the
    configured feeder, or any non-negative integer when no feeder is configured."""
    if isinstance(bus, bool) or not isinstance(bus, int) or bus < 0:
        raise FeederError(f"bus {bus!r}", "must be a non-negative integer")
    feeder = config.network.feeder
    if feeder is not None:
        feeder.position_of(bus)


def home_buses(feeder: Feeder, stored: Mapping[str, int]) -> dict[str, int]:
    """home_id -> bus for the clearing: the feeder file's `homes`, overlaid by the buses homes
    were given at invite. A bus the feeder does not have is left out (and logged): that home
    counts as having no bus."""
    buses = dict(feeder.homes)
    for home_id, bus in stored.items():
        if bus in feeder.tree.position:
            buses[home_id] = bus
        else:
            buses.pop(home_id, None)
            _LOGGER.warning(
                "home %s: bus %s is not a bus of feeder %r; it counts as having no bus",
                home_id,
                bus,
                feeder.name,
            )
    return buses


def clear_on_feeder(
    orders: Sequence[Order],
    rules: MarketRules,
    feeder: Feeder,
    buses: Mapping[str, int],
    config: HubConfig,
) -> NetworkClearing:
    """clear_network with the homes placed on their buses (CPU-bound: run it in a thread)."""
    return clear_network(
        orders,
        rules,
        feeder.with_homes(buses),
        interval_seconds=config.dispatch_seconds,
        options=config.network.options,
    )


CONNECTION = "connection"  # the one-node feeder's transformer: named in binding limits
CONNECTION_BUS = 0


@lru_cache(maxsize=8)
def connection_feeder(limit_kw: float) -> Feeder:
    """The one-node feeder of a hub without a feeder file: every home on the transformer's bus,
    whose rating is the neighbourhood's connection limit (unity power factor: kW = kVA)."""
    return Feeder(
        name=CONNECTION,
        nominal_kv=0.4,
        transformer=Transformer(CONNECTION, CONNECTION_BUS, limit_kw),
        buses=(Bus(CONNECTION_BUS, "connection point"),),
        lines=(),
    )


def clear_on_connection(
    orders: Sequence[Order], rules: MarketRules, config: HubConfig
) -> NetworkClearing:
    """clear_network on the one-node feeder: the market held within the connection limit (import
    and export) by the same LP as on a feeder file; the merit order when the limit does not bind."""
    feeder = connection_feeder(config.network.connection_kw)
    return clear_on_feeder(
        orders, rules, feeder, {o.home_id: CONNECTION_BUS for o in orders}, config
    )


def network_warnings(config: HubConfig) -> list[str]:
    """What the hub warns about at start: a connection limit it had to assume."""
    network = config.network
    if network.feeder is None and network.connection_limit_kw is None:
        return [
            "no [network] feeder_file and no connection_limit_kw: the market assumes a "
            f"{DEFAULT_CONNECTION_LIMIT_KW:g} kW connection for the neighbourhood; set "
            "[network] connection_limit_kw to your transformer's rating (docs/feeder.md)"
        ]
    return []


def with_network(
    interval: IntervalRecord,
    allocations: Sequence[AllocationRecord],
    network: NetworkClearing,
    feeder: Feeder,
) -> tuple[IntervalRecord, list[AllocationRecord], dict[str, Any]]:
    """The records of a clearing on a feeder, and its public IntervalNetwork."""
    cut = {c.home_id: c for c in network.curtailment}
    interval = replace(
        interval,
        method=network.method,
        fallback_reason=network.fallback_reason,
        congestion_rent_mminor=network.congestion_rent_mminor,
        binding=[binding_wire(b) for b in network.binding],
    )
    allocations = [
        replace(a, curtailed_buy_wh=cut[a.home_id].buy_wh, curtailed_sell_wh=cut[a.home_id].sell_wh)
        if a.home_id in cut
        else a
        for a in allocations
    ]
    return interval, allocations, network_wire(interval, network, feeder)


def network_wire(
    interval: IntervalRecord, network: NetworkClearing, feeder: Feeder
) -> dict[str, Any]:
    """The IntervalNetwork: per bus prices (and voltages), branch loadings, curtailment by bus."""
    flow = network.flow
    voltage = (
        {} if flow is None else dict(zip(feeder.bus_ids, flow.voltage_pu.tolist(), strict=True))
    )
    curtailment: dict[int, list[int]] = {}
    for cut in network.curtailment:
        totals = curtailment.setdefault(cut.bus, [0, 0, 0])
        totals[0] += 1
        totals[1] += cut.buy_wh
        totals[2] += cut.sell_wh
    branches = []
    if flow is not None:
        for position, loading in enumerate(flow.loading.tolist()):
            branches.append(
                {
                    "element": feeder.branch_name(position),
                    "bus": feeder.bus_ids[position],
                    "loading": round(loading, 4),
                }
            )
    return {
        "interval_start": interval.interval_start,
        "feeder": feeder.name,
        "method": network.method,
        "fallback_reason": network.fallback_reason,
        "congestion_rent_mminor": network.congestion_rent_mminor,
        "binding": [binding_wire(b) for b in network.binding],
        "nodal_prices": [nodal_wire(n, voltage.get(n.bus)) for n in network.nodal_prices],
        "branches": branches,
        "curtailment": [
            {"bus": bus, "homes": homes, "buy_wh": buy, "sell_wh": sell}
            for bus, (homes, buy, sell) in sorted(curtailment.items())
        ],
    }


def binding_wire(limit: BindingLimit) -> dict[str, Any]:
    return {
        "kind": limit.kind,
        "element": limit.element,
        "limit": limit.limit,
        "value": round(limit.value, 4),
        "description": limit.describe(),
    }


def nodal_wire(nodal: NodalPrice, voltage_pu: float | None) -> dict[str, Any]:
    return {
        "bus": nodal.bus,
        "price": nodal.price,
        "import_price": nodal.import_price,
        "export_price": nodal.export_price,
        "congestion": nodal.congestion,
        "reasons": [binding_wire(r) for r in nodal.reasons],
        "voltage_pu": None if voltage_pu is None else round(voltage_pu, 4),
    }


def grid_summary(config: HubConfig, feeder: Feeder, homes: Sequence[HomeRecord]) -> dict[str, Any]:
    """What GET /api/v1/grid shows: the feeder's buses and lines with their limits and how many
    enrolled homes sit at each bus (never which homes)."""
    placed = home_buses(feeder, {h.home_id: h.bus for h in homes if h.bus is not None})
    active = [h for h in homes if not h.revoked]
    per_bus = Counter(placed[h.home_id] for h in active if h.home_id in placed)
    transformer = feeder.transformer
    return {
        "name": feeder.name,
        "market_mode": config.network.market_mode,
        "nominal_kv": feeder.nominal_kv,
        "voltage_limits_pu": {"min": feeder.v_min_pu, "max": feeder.v_max_pu},
        "transformer": {
            "name": transformer.name,
            "bus": transformer.bus,
            "limit_kva": transformer.limit_kva,
            "voltage_pu": transformer.voltage_pu,
        },
        "buses": [
            {"id": b.id, "name": b.name, "homes": per_bus.get(b.id, 0)} for b in feeder.buses
        ],
        "lines": [
            {
                "name": line.name,
                "from_bus": line.from_bus,
                "to_bus": line.to_bus,
                "r_ohm": line.r_ohm,
                "x_ohm": line.x_ohm,
                "limit_kva": round(line.limit_kva, 3),
            }
            for line in feeder.lines
        ],
        "home_count": sum(per_bus.values()),
        "homes_without_bus": len(active) - sum(per_bus.values()),
    }
