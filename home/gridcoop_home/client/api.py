"""The hub's API for a home, typed: what Home Assistant, a witness and scripts call.

`HubApi` sits on the transport (`gridcoop_home.client.hub.HubClient`: signing, sequences, the
injected aiohttp session) and turns every answer into the models of
`gridcoop_home.client.models`, so callers never look up keys in wire data. Errors are the types
of `gridcoop_home.client.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from gridcoop_home.client.errors import BadResponse
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.client.models import (
    BidReceipt,
    ClearedInterval,
    Enrolled,
    HubInfo,
    ReadingsReceipt,
    TariffSlot,
    intervals_from_wire,
    tariffs_from_wire,
)
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidCurves
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey


@dataclass(frozen=True, slots=True)
class Pushed:
    """One WebSocket message: a cleared interval (everyone) or this home's allocation."""

    interval: ClearedInterval | None = None
    allocation: Allocation | None = None


class HubApi:
    def __init__(self, client: HubClient) -> None:
        self.transport = client

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    async def info(self) -> HubInfo:
        return HubInfo.from_wire(await self.transport.info())

    async def tariffs(self, intervals: int = 96) -> tuple[TariffSlot, ...]:
        return tariffs_from_wire(await self.transport.tariffs(intervals))

    async def intervals(self, limit: int = 96) -> tuple[ClearedInterval, ...]:
        return intervals_from_wire({"intervals": await self.transport.intervals(limit=limit)})

    async def enrol(
        self, join_code: str, home_key: SigningKey, meters: Sequence[Meter]
    ) -> Enrolled:
        return Enrolled.from_wire(await self.transport.enrol(join_code, home_key, meters))

    async def home_id(self) -> str:
        """The id of the home the key belongs to (the hub refuses revoked homes)."""
        home = await self.transport.home()
        value = home.get("home_id")
        if not isinstance(value, str):
            raise BadResponse(502, "bad_response", "home.home_id must be a string")
        return value

    async def upload_readings(self, readings: Sequence[SignedMessage]) -> ReadingsReceipt:
        return ReadingsReceipt.from_wire(await self.transport.upload_readings(readings))

    async def submit_bid(self, interval_start: int, curves: BidCurves) -> BidReceipt:
        return BidReceipt.from_wire(await self.transport.submit_bid(interval_start, curves))

    async def results(self, limit: int = 96) -> tuple[Allocation, ...]:
        return tuple(_allocation(a) for a in await self.transport.results(limit=limit))

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[AsyncIterator[Pushed]]:
        """The WebSocket as typed messages; the iteration ends when the socket closes."""
        async with self.transport.stream() as ws:
            yield _messages(ws)


async def _messages(ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[Pushed]:
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            return  # closed or error: the caller reconnects
        try:
            data = message.json()
        except ValueError:
            continue  # not JSON: nothing a home can act on
        if not isinstance(data, dict):
            continue
        if data.get("type") == "interval_cleared":
            yield Pushed(interval=ClearedInterval.from_wire(data.get("interval", {})))
        elif data.get("type") == "allocation":
            yield Pushed(allocation=_allocation(data.get("allocation", {})))


def _allocation(data: Any) -> Allocation:
    try:
        return Allocation.from_wire(data)
    except ProtocolError as err:
        raise BadResponse(502, "bad_response", err.detail) from err
