"""Bid and order intake: what the hub does with a home's signed bid (periodic market) or signed
order (continuous market).

The routes (`POST /api/v1/bids`, `POST /api/v1/orders`) and the simulator both call `take_bid` and
`take_order`. Each checks, in this order: the message is signed with the sending home's own home
key, the signature verifies, the body keeps the bid rules, the interval's gate is still open;
then it stores the bid (or matches and logs the order) and returns what happened. Anything
refused raises ProtocolError with its reason code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.bids import parse_bid
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.orders import parse_order

from hub.config import HubConfig
from hub.market import Trade
from hub.service.continuous import ContinuousMarket, check_gate_open
from hub.service.signatures import SignatureCheck, check_signatures
from hub.store import Store
from hub.store.records import HomeRecord, KeyIdentity, RequestSequence


@dataclass(frozen=True, slots=True)
class BidReceipt:
    """A stored bid: new (`replaced` False) or in place of the home's earlier bid."""

    interval_start: int
    replaced: bool
    digest: str
    gate_closure: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "interval_start": self.interval_start,
            "status": "replaced" if self.replaced else "stored",
            "digest": self.digest,
            "gate_closure": self.gate_closure,
        }


@dataclass(frozen=True, slots=True)
class OrderReceipt:
    """What an order did at once: its trades, what rests in the book, how many crossing orders
    the network would not let it trade with."""

    order_id: str
    interval_start: int
    trades: tuple[Trade, ...]
    resting_wh: int
    blocked: int
    digest: str
    gate_closure: int

    @property
    def filled_wh(self) -> int:
        return sum(trade.energy_wh for trade in self.trades)

    @property
    def status(self) -> str:
        if not self.resting_wh:
            return "filled"
        return "partially_filled" if self.filled_wh else "resting"

    def to_wire(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "interval_start": self.interval_start,
            "status": self.status,
            "filled_wh": self.filled_wh,
            "resting_wh": self.resting_wh,
            "trades": [{"price": t.price, "energy_wh": t.energy_wh} for t in self.trades],
            "blocked": self.blocked,
            "digest": self.digest,
            "gate_closure": self.gate_closure,
        }


def check_periodic_market(config: HubConfig) -> None:
    """Bids are for a hub that clears periodically; a continuous one takes orders."""
    if config.network.continuous:
        raise ProtocolError(
            errors.WRONG_MARKET_MODE,
            "this hub trades continuously: send orders (POST /api/v1/orders), not bids",
        )


async def take_bid(
    store: Store,
    config: HubConfig,
    home_key: KeyIdentity,
    message: SignedMessage,
    now: float,
    *,
    signatures: SignatureCheck = check_signatures,
    request: RequestSequence | None = None,
) -> BidReceipt:
    """Check and store a home's signed bid (`home_key`: the sending home's home key; `now`: the
    hub's clock, UTC seconds). With `request`, the request's sequence is accepted in the bid's
    own transaction."""
    await _check_signed(store, home_key.key_id, message, "bid", signatures)
    bid = parse_bid(message.body, config.bid_limits)
    check_gate_open(config, now, bid.interval_start)
    replaced = await store.save_bid(
        home_key.home_id, message, bid.interval_start, int(now * 1000), request
    )
    return BidReceipt(
        bid.interval_start, replaced, message.digest, config.gate_closure_of(bid.interval_start)
    )


async def take_order(
    store: Store,
    config: HubConfig,
    market: ContinuousMarket,
    home: HomeRecord,
    home_key_id: str,
    message: SignedMessage,
    *,
    signatures: SignatureCheck = check_signatures,
) -> OrderReceipt:
    """Check a home's signed order, match it against its interval's book and log it (the
    market checks the gate: see ContinuousMarket.submit)."""
    await _check_signed(store, home_key_id, message, "order", signatures)
    body = parse_order(message.body, config.bid_limits)
    submission = await market.submit(home, message, body)
    return OrderReceipt(
        submission.order_id,
        body.interval_start,
        submission.trades,
        submission.resting_wh,
        len(submission.blocked),
        message.digest,
        config.gate_closure_of(body.interval_start),
    )


_A = {"bid": "a bid", "order": "an order"}


async def _check_signed(
    store: Store, home_key_id: str, message: SignedMessage, what: str, signatures: SignatureCheck
) -> None:
    if message.key_id != home_key_id:
        raise ProtocolError(
            errors.KEY_NOT_YOURS, f"{_A[what]} must be signed with the caller's home key"
        )
    if not (await signatures(store, [message])).get(0, False):
        raise ProtocolError(errors.BAD_SIGNATURE, f"{what} signature does not verify")
