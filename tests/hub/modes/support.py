"""Helpers for the market-mode tests: configs with a feeder, signed orders, WebSocket reads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from gridcoop_home.protocol.envelope import SequenceCounter, SignedMessage, sign_message

from hub.config import HubConfig, NetworkSettings
from hub.grid import load_feeder
from tests.hub.server.support import Home, Hub, Reply

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_FEEDER = REPO / "examples" / "feeders" / "lindenweg.json"
_SEQ = SequenceCounter()

# A feeder whose line B (bus 1 - bus 2) carries 11 kVA: 2750 Wh in a 15-minute interval.
THIN_LINES: list[dict[str, Any]] = [
    {"name": "A", "from_bus": 0, "to_bus": 1, "r_ohm": 0.001, "x_ohm": 0.0005, "limit_kva": 200},
    {"name": "B", "from_bus": 1, "to_bus": 2, "r_ohm": 0.001, "x_ohm": 0.0005, "limit_kva": 11},
]
THIN_FEEDER: dict[str, Any] = {
    "format": "gridcoop-feeder/1",
    "name": "Thin street",
    "nominal_kv": 0.4,
    "transformer": {"name": "T", "bus": 0, "limit_kva": 400},
    "buses": [{"id": 0, "name": "busbar"}, {"id": 1}, {"id": 2, "name": "far end"}],
    "lines": THIN_LINES,
}


def hub_toml(tmp_path: Path, body: str, feeder: dict[str, Any] | None = None) -> Path:
    """Write hub.toml (and feeder.json next to it, if given) into tmp_path."""
    if feeder is not None:
        (tmp_path / "feeder.json").write_text(json.dumps(feeder))
    path = tmp_path / "hub.toml"
    path.write_text(body)
    return path


def with_feeder(
    config: HubConfig | None = None, feeder: Path = EXAMPLE_FEEDER, **network: Any
) -> HubConfig:
    """`config` (default: HubConfig()) on a feeder file, periodic unless market_mode says so."""
    settings = NetworkSettings(feeder=load_feeder(feeder), feeder_file=str(feeder), **network)
    return replace(config or HubConfig(), network=settings)


def sign_order(
    home: Home,
    interval_start: int,
    side: str,
    price: int,
    energy_wh: int,
    client_order_id: str,
    asset: str = "base",
    ts_ms: int = 0,
) -> SignedMessage:
    body = {
        "interval_start": interval_start,
        "side": side,
        "price": price,
        "energy_wh": energy_wh,
        "asset": asset,
        "client_order_id": client_order_id,
    }
    return sign_message(home.key, "order", body, seq=_SEQ.next(), ts=ts_ms)


async def submit_order(
    hub: Hub,
    home: Home,
    interval_start: int,
    side: str,
    price: int,
    energy_wh: int,
    client_order_id: str,
    asset: str = "base",
) -> Reply:
    message = sign_order(
        home, interval_start, side, price, energy_wh, client_order_id, asset, hub.now_ms()
    )
    return await hub.signed(home.key, "POST", "/api/v1/orders", message.to_wire())


async def cancel_order(hub: Hub, home: Home, order_id: str) -> Reply:
    return await hub.signed(home.key, "DELETE", f"/api/v1/orders/{order_id}")


async def next_of_type(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next WebSocket message of this type (others are skipped)."""
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=5)
        if message["type"] == kind:
            return message
