"""Ledger scenarios shared by the tests: a settled trade, and a retirement of green
certificates that a witness co-signed until it was final (what the operator then rewrites,
see tests/hub/ledger/rewrite.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridcoop_home.client.hub import HubClient
from gridcoop_home.ledger import bls
from gridcoop_home.ledger.light_client import LightClient
from gridcoop_home.ledger.transactions import build_retirement

from hub.ledger.service.witness import Witness
from hub.ledger.service.witness_store import WitnessStore
from hub.server.routes_ledger import LEDGER
from hub.server.runtime import CLEARING
from tests.hub.server.support import FakeClock, Home, Hub, curves

WITNESS_SEED = b"neighbour witness key seed 00000"


async def trade(hub: Hub, clock: FakeClock) -> tuple[Home, Home, int]:
    """A PV seller and a buyer trade one interval; both report; the interval settles."""
    seller = await hub.enrol("Seller", meters=("grid", "pv"))
    buyer = await hub.enrol("Buyer", meters=("grid",))
    interval = hub.config.next_open_interval(clock())
    start_ms, end_ms = interval * 1000, (interval + 900) * 1000
    clock.set(interval - 90)
    await seller.client.submit_bid(interval, curves(sell=[(10, 1000, "pv")]))
    await buyer.client.submit_bid(interval, curves(buy=[(25, 600, "base")]))
    clock.set(interval - 30)  # readings exactly at the boundaries: no interpolation
    await seller.client.upload_readings(
        [seller.meter("grid").reading(0, 0, start_ms), seller.meter("pv").reading(0, 0, start_ms)]
    )
    await buyer.client.upload_readings([buyer.meter("grid").reading(0, 0, start_ms)])
    await hub.app[CLEARING].clear(interval)  # the gate closed 60 s before the interval
    clock.set(interval + 900 + 30)
    await seller.client.upload_readings(
        [seller.meter("grid").reading(0, 620, end_ms), seller.meter("pv").reading(0, 650, end_ms)]
    )
    await buyer.client.upload_readings([buyer.meter("grid").reading(900, 0, end_ms)])
    await hub.app[CLEARING].clear(interval + 900)
    return seller, buyer, interval


@dataclass
class FinalRetirement:
    """The buyer retired its green certificates; the block that holds the retirement and the
    one after it are co-signed by the witness, hence final (threshold 2)."""

    buyer: Home
    retirement: str  # the retirement entry's hash
    height: int  # the block that sealed it
    witness_secret: int
    witness_dir: Path
    light: dict[str, Any]  # the buyer's light client as it stood then (LightClient.to_dict)


def open_witness(
    hub: Hub, secret: int, data_dir: Path, home: Home | None = None, url: str | None = None
) -> tuple[Witness, WitnessStore]:
    """A witness of `hub` (at `url`, when it is down) over `data_dir` (its memory),
    registering for `home` if given."""
    store = WitnessStore.open(data_dir, bls.get_backend().secret_to_public(secret))
    client = HubClient(hub.session, url or hub.url, home_key=None if home is None else home.key)
    return Witness(client, secret, store, name="neighbour"), store


async def blocks(hub: Hub, start: int, limit: int = 1000) -> list[dict[str, Any]]:
    reply = await hub.raw("GET", f"/api/v1/ledger/blocks?from={start}&limit={limit}")
    assert reply.status == 200, reply
    return list(reply.body["blocks"])


async def check_light_client(hub: Hub, client: LightClient) -> tuple[Any, Any]:
    """What a home's integration does each round: check the head, then its balance."""
    head = (await hub.raw("GET", "/api/v1/ledger/head")).body
    head_verdict = client.check_head(await blocks(hub, *client.blocks_from()), head["validators"])
    answer = (await hub.raw("GET", f"/api/v1/ledger/homes/{client.home_id}")).body
    height = LightClient.proof_height(answer)
    balance_verdict = client.check_balance(answer, await blocks(hub, *client.blocks_from(height)))
    return head_verdict, balance_verdict


async def final_retirement(hub: Hub, clock: FakeClock, tmp_path: Path) -> FinalRetirement:
    """On a hub with threshold 2: a trade, a witness for the seller, the buyer's light client,
    then the buyer retires its 6 green certificates (block 4) and the witness co-signs blocks
    4 and 5."""
    seller, buyer, _interval = await trade(hub, clock)
    ledger = hub.app[LEDGER]
    secret = bls.generate_secret_key(WITNESS_SEED)
    witness_dir = tmp_path / "witness-data"
    witness, store = open_witness(hub, secret, witness_dir, seller)
    await witness.register()
    await ledger.seal()  # block 3 records the witness; it signs from block 4 on
    head = (await hub.raw("GET", "/api/v1/ledger/head")).body
    light = LightClient.join(head, buyer.home_id)
    assert await witness.step() == 4
    [lot] = ledger.state.certificates[buyer.home_id]
    retire = build_retirement(
        buyer.key,
        buyer.home_id,
        lot=lot,
        units=6,
        purpose="EV charging, 7.4 kWh",
        seq=1,
        ts=hub.now_ms(),
    )
    reply = await hub.signed(buyer.key, "POST", "/api/v1/ledger/transactions", retire)
    assert reply.status == 201, reply
    sealed = await ledger.seal()
    await ledger.seal()
    assert await witness.step() == 2 and witness.signed == [4, 5]
    store.close()
    head_verdict, balance_verdict = await check_light_client(hub, light)
    assert head_verdict.status == "ok" and light.head is not None
    assert light.head.header.height == 5 and balance_verdict.status == "ok"
    return FinalRetirement(
        buyer,
        reply.body["entry_hash"],
        sealed.header.height,
        secret,
        witness_dir,
        light.to_dict(),
    )
