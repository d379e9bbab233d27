"""Continuous-mode limit orders as they travel on the wire (the body of a signed "order" message).

    {"interval_start": 1767225600, "side": "sell", "price": 14, "energy_wh": 800,
     "asset": "battery", "client_order_id": "b-0017"}

Units as for bids: price in integer minor units per kWh, energy in Wh. The hub names the order
`<home_id>:<client_order_id>`, so a client picks its own ids and they never collide with another
home's. `asset` says which device the order stands for; it turns fills into dispatch commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.bids import ASSET_PATTERN, BidLimits
from gridcoop_home.protocol.errors import MALFORMED, OUT_OF_BOUNDS, ProtocolError

SIDES = ("buy", "sell")
CLIENT_ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_FIELDS = frozenset({"interval_start", "side", "price", "energy_wh", "asset", "client_order_id"})


@dataclass(frozen=True, slots=True)
class OrderBody:
    interval_start: int  # UTC seconds, aligned to the market interval
    side: str  # buy | sell
    price: int  # limit price, minor units per kWh
    energy_wh: int
    asset: str
    client_order_id: str

    def order_id(self, home_id: str) -> str:
        return f"{home_id}:{self.client_order_id}"

    def to_wire(self) -> dict[str, Any]:
        return {
            "interval_start": self.interval_start,
            "side": self.side,
            "price": self.price,
            "energy_wh": self.energy_wh,
            "asset": self.asset,
            "client_order_id": self.client_order_id,
        }


def parse_order(body: dict[str, Any], limits: BidLimits) -> OrderBody:
    """Check an order body: the same price and energy bounds as a bid step."""
    missing = sorted(_FIELDS - set(body) - {"asset"})
    if missing:
        raise ProtocolError(MALFORMED, f"order lacks {missing}")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise ProtocolError(MALFORMED, f"order has unknown fields {unknown}")
    interval_start, price, energy = (
        _int(body, "interval_start"),
        _int(body, "price"),
        _int(body, "energy_wh"),
    )
    side, asset, client_id = body["side"], body.get("asset", "base"), body["client_order_id"]
    if side not in SIDES:
        raise ProtocolError(MALFORMED, "order.side must be 'buy' or 'sell'")
    if not isinstance(asset, str) or not ASSET_PATTERN.match(asset):
        raise ProtocolError(MALFORMED, "order.asset must be base, pv, battery, ev or load:<id>")
    if not isinstance(client_id, str) or not CLIENT_ORDER_ID_PATTERN.match(client_id):
        raise ProtocolError(MALFORMED, "order.client_order_id must be 1-64 of A-Z a-z 0-9 _ . -")
    if not limits.price_min <= price <= limits.price_max:
        raise ProtocolError(
            OUT_OF_BOUNDS, f"order.price {price} outside [{limits.price_min}, {limits.price_max}]"
        )
    if not 0 < energy <= limits.max_step_wh:
        raise ProtocolError(
            OUT_OF_BOUNDS, f"order.energy_wh {energy} outside [1, {limits.max_step_wh}]"
        )
    return OrderBody(interval_start, side, price, energy, asset, client_id)


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(MALFORMED, f"order.{key} must be an integer")
    return value
