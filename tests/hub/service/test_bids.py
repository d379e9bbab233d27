"""Bid and order intake (hub.service.bids): what the bid and order routes and the simulator run."""

from __future__ import annotations

from dataclasses import replace

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig, NetworkSettings
from hub.service.bids import check_periodic_market, take_bid, take_order
from hub.service.continuous import ContinuousMarket
from hub.service.signatures import prechecked
from hub.store import Store
from hub.store.records import KeyIdentity
from tests.hub.store.factories import INTERVAL, NOW, EnrolledHome, bid_message, enrol_home

BEFORE_GATE = INTERVAL - 120.0  # UTC seconds: two minutes before the interval, gate open


def home_key(home: EnrolledHome) -> KeyIdentity:
    key = home.home_key
    return KeyIdentity(key.key_id, home.home_id, "home", key.public_text)


class Publisher:
    async def publish(self, message: dict[str, object]) -> None:
        """Market news nobody listens to here."""

    async def send_to_home(self, home_id: str, message: dict[str, object]) -> None:
        """Fills nobody listens to here."""


async def test_a_bid_is_stored_then_replaced_by_a_newer_one(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    first, newer = bid_message(home.home_key, 1, price=20), bid_message(home.home_key, 2, price=30)

    stored = await take_bid(store, config, home_key(home), first, BEFORE_GATE)
    replaced = await take_bid(store, config, home_key(home), newer, BEFORE_GATE + 1)

    gate = config.gate_closure_of(INTERVAL)
    assert stored.to_wire() == {
        "interval_start": INTERVAL,
        "status": "stored",
        "digest": first.digest,
        "gate_closure": gate,
    }
    assert (replaced.replaced, replaced.digest) == (True, newer.digest)
    bid = await store.get_bid(home.home_id, INTERVAL)
    assert bid is not None
    assert (bid.seq, bid.received_at) == (2, int((BEFORE_GATE + 1) * 1000))


async def test_a_bid_signed_with_another_key_is_not_yours_and_stores_nothing(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    neighbour = await enrol_home(store, "No. 9")

    with pytest.raises(ProtocolError) as refused:
        await take_bid(
            store, config, home_key(home), bid_message(neighbour.home_key, 1), BEFORE_GATE
        )

    assert refused.value.reason == errors.KEY_NOT_YOURS
    assert await store.bids_for_interval(INTERVAL) == []


async def test_a_bid_whose_signature_does_not_verify_is_refused(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    signed = bid_message(home.home_key, 1, price=20)
    forged = replace(signed, body={**signed.body, "interval_start": INTERVAL + 900})

    with pytest.raises(ProtocolError) as refused:
        await take_bid(store, config, home_key(home), forged, BEFORE_GATE)

    assert refused.value.reason == errors.BAD_SIGNATURE
    assert await store.bids_for_interval(INTERVAL + 900) == []


async def test_the_simulators_verdict_on_a_signature_is_the_one_that_counts(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    valid = bid_message(home.home_key, 1)

    with pytest.raises(ProtocolError) as refused:
        await take_bid(
            store, config, home_key(home), valid, BEFORE_GATE, signatures=prechecked({0: False})
        )
    receipt = await take_bid(
        store, config, home_key(home), valid, BEFORE_GATE, signatures=prechecked({0: True})
    )

    assert refused.value.reason == errors.BAD_SIGNATURE
    assert receipt.replaced is False


@pytest.mark.parametrize(
    ("now", "interval", "reason"),
    [
        (INTERVAL - 60.0, INTERVAL, errors.GATE_CLOSED),  # the gate closes 60 s before
        (BEFORE_GATE, INTERVAL + 7, errors.INTERVAL_MISALIGNED),
        (BEFORE_GATE, INTERVAL + 3 * 86_400, errors.INTERVAL_TOO_FAR),
    ],
)
async def test_a_bid_for_an_interval_the_hub_does_not_take_now_is_refused(
    store: Store, config: HubConfig, now: float, interval: int, reason: str
) -> None:
    home = await enrol_home(store)

    with pytest.raises(ProtocolError) as refused:
        await take_bid(
            store, config, home_key(home), bid_message(home.home_key, 1, interval=interval), now
        )

    assert refused.value.reason == reason
    assert await store.get_bid(home.home_id, interval) is None


async def test_a_bid_outside_the_bid_rules_is_refused_before_the_gate_is_looked_at(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    body = {"interval_start": INTERVAL, "buy": [{"price": 25, "energy_wh": 0}]}
    empty_step = sign_message(home.home_key, "bid", body, seq=1, ts=NOW)

    with pytest.raises(ProtocolError) as refused:
        await take_bid(store, config, home_key(home), empty_step, INTERVAL + 3_600.0)

    assert refused.value.reason == errors.OUT_OF_BOUNDS


def test_a_continuous_hub_takes_orders_not_bids(config: HubConfig) -> None:
    continuous = replace(config, network=NetworkSettings(market_mode="continuous"))

    check_periodic_market(config)
    with pytest.raises(ProtocolError) as refused:
        check_periodic_market(continuous)

    assert refused.value.reason == errors.WRONG_MARKET_MODE


def order(key: SigningKey, seq: int, side: str, price: int, energy_wh: int) -> SignedMessage:
    body = {
        "interval_start": INTERVAL,
        "side": side,
        "price": price,
        "energy_wh": energy_wh,
        "asset": "battery",
        "client_order_id": f"o{seq}",
    }
    return sign_message(key, "order", body, seq=seq, ts=NOW)


async def test_an_order_is_matched_against_the_book_and_answers_with_its_trades(
    store: Store, config: HubConfig
) -> None:
    continuous = replace(config, network=NetworkSettings(market_mode="continuous"))
    market = ContinuousMarket(continuous, store, Publisher(), lambda: BEFORE_GATE)
    seller, buyer = await enrol_home(store, "Seller"), await enrol_home(store, "Buyer")

    resting = await take_order(
        store,
        continuous,
        market,
        seller.record,
        seller.home_key.key_id,
        order(seller.home_key, 1, "sell", 12, 800),
    )
    filled = await take_order(
        store,
        continuous,
        market,
        buyer.record,
        buyer.home_key.key_id,
        order(buyer.home_key, 1, "buy", 20, 300),
    )

    assert (resting.status, resting.resting_wh, resting.filled_wh) == ("resting", 800, 0)
    assert (filled.status, filled.filled_wh) == ("filled", 300)
    assert filled.to_wire()["trades"] == [{"price": 12, "energy_wh": 300}]
    assert filled.gate_closure == continuous.gate_closure_of(INTERVAL)


async def test_an_order_signed_with_another_homes_key_is_not_yours(
    store: Store, config: HubConfig
) -> None:
    continuous = replace(config, network=NetworkSettings(market_mode="continuous"))
    market = ContinuousMarket(continuous, store, Publisher(), lambda: BEFORE_GATE)
    home, neighbour = await enrol_home(store), await enrol_home(store, "No. 9")

    with pytest.raises(ProtocolError) as refused:
        await take_order(
            store,
            continuous,
            market,
            home.record,
            home.home_key.key_id,
            order(neighbour.home_key, 1, "buy", 20, 300),
        )

    assert refused.value.reason == errors.KEY_NOT_YOURS
    assert await store.order_events(INTERVAL) == []
