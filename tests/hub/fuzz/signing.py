"""Getting schemathesis past the hub's authentication: signed requests, signed messages inside.

`HomeSigner` is a `requests` auth object: it runs on the prepared request, after the body has been
serialised, so it signs exactly the bytes that go on the wire with the enrolled home key and a
fresh, increasing request sequence (gridcoop_home.protocol.requests). Schemathesis's auth probes
strip
the `auth` keyword before re-sending, so `ignored_auth` still sees the hub refuse unsigned and
wrongly signed requests.

The payload builders below make what the hub's signed bodies carry (bids, orders, readings,
ledger transactions) and sign them with the right key at send time; a generated
envelope with a random signature would stop at `bad_signature` / `key_not_yours` and never
reach the bid, order, reading or transaction rules behind it.
"""

from __future__ import annotations

import random
import time
from typing import Any

import requests
from gridcoop_home.ledger.transactions import build_retirement, build_transfer
from gridcoop_home.protocol.envelope import sign_message
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import sign_request

from tests.hub.fuzz.harness import Credentials

INT64 = 2**63


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class HomeSigner(requests.auth.AuthBase):
    """Sign every request it sees with the home key."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        assert prepared.method is not None
        prepared.headers.update(
            sign_request(
                self.credentials.home_key,
                prepared.method,
                prepared.path_url,  # as sent: the hub verifies request.path_qs, the raw target
                body,
                self.credentials.request_seq.next(),
                now_ms(),
            )
        )
        return prepared


# -- what signed bodies carry ---------------------------------------------------------------------
# Drawn with a `random.Random` seeded from the generated case, not with hypothesis: schemathesis
# runs its coverage phase (boundary and negative values) only for tests without `@given` extras.

ASSETS = ["base", "pv", "battery", "ev", "load:dishwasher", "heatpump", "load:", "BASE"]
EDGE_INTS = [-1, 0, 1, 2**31, 2**53 + 1, INT64 - 1, INT64, 2**64, 10**30, -(10**30)]


def wild_int(rng: random.Random, low: int, high: int) -> int:
    """Mostly plausible values, sometimes the edges: negative, 2^53, beyond int64, huge."""
    roll = rng.random()
    if roll < 0.8:
        return rng.randint(low, high)
    if roll < 0.95:
        return rng.choice(EDGE_INTS)
    return rng.randint(-(2**70), 2**70)


def interval_start(rng: random.Random, interval_seconds: int, wild: bool = True) -> int:
    """An open interval past the next gate closure; if `wild`, also closed, misaligned or
    anything at all."""
    now = int(time.time())
    base = now - now % interval_seconds
    roll = rng.random() if wild else 0.0
    if roll < 0.4:
        return base + rng.randint(2, 12) * interval_seconds
    if roll < 0.7:  # closed or about to close
        return base + rng.randint(-3, 1) * interval_seconds
    if roll < 0.85:
        return base + rng.randint(-100, 100)
    return wild_int(rng, 0, 2**40)


def _steps(rng: random.Random, ascending: bool, price: int, wild: bool) -> list[dict[str, Any]]:
    steps = []
    count = rng.choice([0, 1, 1, 2, 3, 5, 16, 17] if wild else [1, 1, 2, 3, 5])
    for _ in range(count):
        step: dict[str, Any] = {
            "price": wild_int(rng, -600, 6000) if wild and rng.random() < 0.3 else price,
            "energy_wh": wild_int(rng, 1, 5_000) if wild else rng.randint(1, 5_000),
        }
        if rng.random() < 0.7:
            step["asset"] = rng.choice(ASSETS if wild else ASSETS[:5])
        steps.append(step)
        price += rng.randint(0, 5) if ascending else -rng.randint(0, 5)
    return steps


def bid_body(rng: random.Random, interval_seconds: int) -> dict[str, Any]:
    """Two thirds plausible bids (most of them accepted), one third with edge values."""
    wild = rng.random() < 1 / 3
    top_buy = rng.randint(-20, 60)
    # a home nets its own flows (highest buy below lowest sell); wild ones may cross
    low_sell = rng.randint(-20, 60) if wild else top_buy + rng.randint(1, 20)
    body: dict[str, Any] = {
        "interval_start": interval_start(rng, interval_seconds, wild),
        "buy": _steps(rng, False, top_buy, wild),
        "sell": _steps(rng, True, low_sell, wild),
    }
    if wild and rng.random() < 0.15:
        body["extra"] = 1
    if wild and rng.random() < 0.15:
        del body[rng.choice(["buy", "sell", "interval_start"])]
    return body


def order_body(rng: random.Random, interval_seconds: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "interval_start": interval_start(rng, interval_seconds),
        "side": rng.choice(["buy", "sell", "buy", "sell", "hold"]),
        "price": wild_int(rng, -50, 60),
        "energy_wh": wild_int(rng, 1, 5_000),
        "client_order_id": rng.choice(["o1", "o-2.x_", "x" * 64, "x" * 65, "é", ""])
        + str(rng.randint(0, 10**6)),
    }
    if rng.random() < 0.7:
        body["asset"] = rng.choice(ASSETS)
    return body


def readings_body(rng: random.Random, credentials: Credentials) -> dict[str, Any]:
    """Readings signed now by a meter key (or, wrongly, the home key): rising registers mostly,
    sometimes falling, huge, stale, future or replayed."""
    readings = []
    signers = [*sorted(credentials.meters), "home"]
    registers = {name: rng.randint(0, 10**6) for name in signers}
    for _ in range(rng.choice([1, 1, 2, 5, 30])):
        name = rng.choice(signers) if rng.random() < 0.9 else "home"
        key = credentials.home_key if name == "home" else credentials.meters[name]
        registers[name] += rng.randint(-5, 500)
        body = {"import_wh": registers[name], "export_wh": wild_int(rng, 0, 10**6)}
        if rng.random() < 0.1:
            body["import_wh"] = wild_int(rng, 0, 10**7)
        seq = credentials.message_seq.next() if rng.random() < 0.9 else wild_int(rng, 0, 10**6)
        roll = rng.random()
        offset = rng.randint(-60_000, 0) if roll < 0.85 else wild_int(rng, -(10**10), 10**10)
        readings.append(_signed(key, "reading", body, seq, max(0, now_ms() + offset)))
    return {"readings": readings}


def _signed(key: SigningKey, kind: str, body: dict[str, Any], seq: int, ts: int) -> dict[str, Any]:
    try:
        return sign_message(key, kind, body, seq, ts).to_wire()
    except ValueError:  # canonical JSON refuses the body: send it with a bogus signature
        return {
            "v": 1,
            "type": kind,
            "key_id": key.key_id,
            "seq": seq,
            "ts": ts,
            "body": body,
            "sig": "AAAA",
        }


def envelope(credentials: Credentials, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A `bid` or `order` envelope signed by the home key with a fresh message sequence."""
    return _signed(credentials.home_key, kind, body, credentials.message_seq.next(), now_ms())


def transaction(rng: random.Random, credentials: Credentials) -> dict[str, Any]:
    key, home = credentials.home_key, credentials.home_id
    seq, ts = credentials.message_seq.next(), now_ms()
    units = wild_int(rng, -2, 100)
    lot = rng.choice([None, "", "lot-1", "x" * 300])
    if rng.random() < 0.5:
        return build_transfer(
            key,
            home,
            asset=rng.choice(["flex", "certificate", "gold"]),
            units=units,
            to=rng.choice(["community", home, "nobody", ""]),
            lot=lot,
            memo=rng.choice(["", "thanks", "ü" * 600]),
            seq=seq,
            ts=ts,
        )
    return build_retirement(
        key,
        home,
        lot=lot or "",
        units=units,
        purpose=rng.choice(["", "heating", "p" * 201]),
        seq=seq,
        ts=ts,
    )
