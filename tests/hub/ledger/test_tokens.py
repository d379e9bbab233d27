"""Token rules as the ledger state enforces them for the hub, every witness and the audit."""

from __future__ import annotations

import copy
import json

import pytest
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.transactions import build_retirement, build_transfer
from gridcoop_home.protocol.readings import Registers, sign_reading

from tests.hub.ledger.factory import INTERVAL, T0, ChainBuilder, trade_chain


def refused(
    chain: ChainBuilder, entry: dict[str, object], reason: str, match: str | None = None
) -> None:
    before = copy.deepcopy((chain.state.flex, chain.state.certificates, chain.state.balances))
    with pytest.raises(LedgerError, match=match) as err:
        chain.add(entry)  # type: ignore[arg-type]
    assert err.value.reason == reason
    assert (chain.state.flex, chain.state.certificates, chain.state.balances) == before


def green_lot(chain: ChainBuilder) -> str:
    return next(lot for lot, info in chain.state.lots.items() if info.green)


def test_a_settled_trade_mints_to_the_producer_and_burns_at_the_consumer() -> None:
    chain = trade_chain()
    state = chain.state
    lot = green_lot(chain)
    assert state.minted["seller"] == 6 and state.burned["buyer"] == 6
    assert state.utility.get("seller") == 0  # every minted token was taken by a neighbour
    assert state.lots[lot].meter_kind == "pv"
    assert state.certificates["buyer"][lot] == 6 - 2  # 2 retired in the trade chain
    assert state.retired[lot] == 2


def test_a_meter_mints_at_most_once_per_interval() -> None:
    chain = trade_chain()
    [mint] = [e for e in chain.state.lots.values() if e.meter_kind == "pv"]
    entry = {
        "kind": "mint",
        "lot": f"{T0}:{mint.meter_key_id}",
        "interval_start": T0,
        "home_id": "seller",
        "meter_key_id": mint.meter_key_id,
        "meter_kind": "pv",
        "green": True,
        "tokens": 6,
    }
    refused(
        chain,
        entry,
        "double_mint",
        f"meter {mint.meter_key_id} already minted for interval {T0} \\(block 3 entry 2\\)",
    )


def test_an_interval_settles_once() -> None:
    chain = trade_chain()
    first = chain.blocks[3].entries[0]
    refused(chain, json.loads(first), "already_settled", f"interval {T0} is already settled")


def test_a_mint_outside_a_settlement_is_refused() -> None:
    chain = ChainBuilder()
    chain.enrol("h", ("grid", "pv"))
    pv = chain.homes["h"].meters["pv"].key_id
    entry = {
        "kind": "mint",
        "lot": f"{T0}:{pv}",
        "interval_start": T0,
        "home_id": "h",
        "meter_key_id": pv,
        "meter_kind": "pv",
        "green": True,
        "tokens": 100,
    }
    refused(chain, entry, "invalid_entry", "outside the settlement")


def test_a_settlement_computed_before_the_state_changed_is_checked_against_the_new_state() -> None:
    chain = ChainBuilder()
    chain.enrol("h")
    chain.readings("h", T0, grid=(0, 0))
    chain.clearing(T0, [{"home_id": "h", "bought_grid_wh": 100, "paid_mminor": 3000}])
    [stale] = chain.state.settlement_batch(T0)  # no reading after the interval yet
    chain.readings("h", T0 + INTERVAL, grid=(100, 0))

    refused(chain, stale, "invalid_entry", "settlement of interval")
    [fresh] = chain.state.settlement_batch(T0)
    assert fresh != stale
    chain.add(fresh)
    assert T0 in chain.state.settled


def test_changing_a_computed_settlement_does_not_change_what_it_is_checked_against() -> None:
    chain = ChainBuilder()
    chain.enrol("seller", ("grid", "pv"))
    chain.enrol("buyer", ("grid",))
    chain.readings("seller", T0, grid=(0, 0), pv=(0, 0))
    chain.readings("buyer", T0, grid=(0, 0))
    chain.clearing(
        T0,
        [
            {"home_id": "seller", "sold_local_wh": 600, "received_mminor": 12_000},
            {"home_id": "buyer", "bought_local_wh": 600, "paid_mminor": 12_000},
        ],
    )
    chain.readings("seller", T0 + INTERVAL, grid=(0, 600), pv=(0, 700))
    chain.readings("buyer", T0 + INTERVAL, grid=(650, 0))
    batch = chain.state.settlement_batch(T0)
    burn = next(entry for entry in batch if entry["kind"] == "burn")
    burn["lots"][0][1] += 1  # type: ignore[index]

    for entry in batch[: batch.index(burn)]:
        chain.add(entry)
    refused(chain, burn, "invalid_entry", "lots is")


def test_a_settlement_entry_must_match_the_recomputed_one_field_by_field() -> None:
    chain = ChainBuilder()
    chain.enrol("h")
    chain.readings("h", T0, grid=(0, 0))
    chain.clearing(T0, [{"home_id": "h", "bought_grid_wh": 100, "paid_mminor": 3000}])
    chain.readings("h", T0 + INTERVAL, grid=(100, 0))
    [expected] = chain.state.settlement_batch(T0)
    forged = {
        **expected,
        "amount_mminor": 0,
        "balance_mminor": 0,
        "balance_minor": 0,
        "amount_minor": 0,
    }
    refused(chain, forged, "invalid_entry", "amount_minor is 0, recomputed -3")
    chain.add(expected)
    assert chain.state.balances["h"] == -3000


def test_certificates_retire_once_and_the_second_attempt_is_named() -> None:
    chain = trade_chain()
    lot = green_lot(chain)
    chain.retire("buyer", lot, 4, "EV charging session 2026-05-01 18:00-20:00, 7.4 kWh")
    home = chain.homes["buyer"]
    again = build_retirement(
        home.key, "buyer", lot=lot, units=1, purpose="again", seq=home.next_seq(), ts=T0
    )
    refused(chain, again, "already_retired", f"lot {lot}: home buyer already retired")
    assert chain.state.retired[lot] == 6


def test_only_green_certificates_can_be_retired() -> None:
    chain = ChainBuilder()
    chain.enrol("s", ("grid",))  # no PV meter: its energy is of unknown (grid) origin
    chain.enrol("b")
    for home in ("s", "b"):
        chain.readings(home, T0, grid=(0, 0))
    chain.clearing(
        T0, [{"home_id": "s", "sold_local_wh": 500}, {"home_id": "b", "bought_local_wh": 500}]
    )
    chain.readings("s", T0 + INTERVAL, grid=(0, 500))
    chain.readings("b", T0 + INTERVAL, grid=(500, 0))
    chain.settle(T0)
    [lot] = chain.state.certificates["b"]
    assert not chain.state.lots[lot].green
    home = chain.homes["b"]
    entry = build_retirement(
        home.key, "b", lot=lot, units=1, purpose="x", seq=home.next_seq(), ts=T0
    )
    refused(chain, entry, "not_green", "grid meter: not green")


def test_retiring_more_than_held_or_an_unknown_lot_is_refused() -> None:
    chain = trade_chain()
    home = chain.homes["buyer"]
    too_many = build_retirement(
        home.key, "buyer", lot=green_lot(chain), units=99, purpose="x", seq=home.next_seq(), ts=T0
    )
    refused(chain, too_many, "insufficient_tokens", "holds 4 units")
    unknown = build_retirement(
        home.key, "buyer", lot="nope", units=1, purpose="x", seq=home.next_seq(), ts=T0
    )
    refused(chain, unknown, "unknown_certificate")


def test_a_followed_battery_dispatch_earns_a_flexibility_token_and_an_ignored_one_does_not() -> (
    None
):
    chain = ChainBuilder()
    chain.enrol("good", ("grid", "battery"))
    chain.enrol("lazy", ("grid", "battery"))
    for home in ("good", "lazy"):
        chain.readings(home, T0, grid=(0, 0), battery=(0, 0))
    discharge = [["battery", "discharge", 1000]]
    chain.clearing(
        T0,
        [
            {
                "home_id": "good",
                "sold_grid_wh": 1000,
                "received_mminor": 8000,
                "dispatch": discharge,
            },
            {
                "home_id": "lazy",
                "sold_grid_wh": 1000,
                "received_mminor": 8000,
                "dispatch": discharge,
            },
        ],
    )
    chain.readings("good", T0 + INTERVAL, grid=(0, 950), battery=(0, 920))  # within 10 %
    chain.readings("lazy", T0 + INTERVAL, grid=(0, 300), battery=(0, 300))
    awards = [e for e in chain.settle(T0) if e["kind"] == "flex_award"]
    assert [(a["home_id"], a["device"], a["action"]) for a in awards] == [
        ("good", "battery", "discharge")
    ]
    assert chain.state.flex == {"good": 1}
    assert chain.state.flex_priorities() == {"good": 1}


def test_flexibility_tokens_are_spent_once_on_community_services() -> None:
    chain = flex_chain()
    chain.transfer("good", asset="flex", units=1, memo="community battery slot")
    assert chain.state.flex == {"good": 0, "community": 1}
    home = chain.homes["good"]
    again = build_transfer(home.key, "good", asset="flex", units=1, seq=home.next_seq(), ts=T0)
    refused(chain, again, "insufficient_tokens", "holds 0 flexibility tokens")


def flex_chain() -> ChainBuilder:  # also used as a builder by the test above
    chain = ChainBuilder()
    chain.enrol("good", ("grid", "battery"))
    chain.readings("good", T0, grid=(0, 0), battery=(0, 0))
    chain.clearing(
        T0,
        [{"home_id": "good", "sold_grid_wh": 1000, "dispatch": [["battery", "discharge", 1000]]}],
    )
    chain.readings("good", T0 + INTERVAL, grid=(0, 1000), battery=(0, 1000))
    chain.settle(T0)
    assert chain.state.flex == {"good": 1}
    return chain


def test_a_home_transaction_must_be_signed_by_that_homes_key_with_a_fresh_sequence() -> None:
    chain = flex_chain()
    chain.enrol("other")
    home, other = chain.homes["good"], chain.homes["other"]
    forged = build_transfer(other.key, "good", asset="flex", units=1, seq=1, ts=T0)
    refused(chain, forged, "key_not_yours")
    tampered = build_transfer(home.key, "good", asset="flex", units=1, seq=home.next_seq(), ts=T0)
    refused(chain, {**tampered, "to": "other"}, "bad_signature")
    first = chain.transfer("good", asset="flex", units=1, to="other")
    refused(chain, {**first}, "replay")


def test_readings_must_be_signed_by_the_homes_meter_and_registers_never_go_down() -> None:
    chain = ChainBuilder()
    chain.enrol("a")
    chain.enrol("b")
    chain.readings("a", T0, grid=(100, 0))
    entry = copy.deepcopy(chain.readings("a", T0 + 60, grid=(150, 0)))
    row = entry["readings"][0]
    row[3] = 999_999  # the hub inflates the register: the meter never signed that
    refused(chain, {**entry, "readings": [[row[0], row[1] + 10, *row[2:]]]}, "bad_signature")
    refused(chain, {**entry, "home_id": "b"}, "key_not_yours")
    lower = chain.homes["a"]
    message = sign_reading(
        lower.meters["grid"], Registers(10, 0), lower.next_seq(), (T0 + 120) * 1000
    )
    refused(
        chain,
        {
            "kind": "readings",
            "home_id": "a",
            "readings": [[message.key_id, message.seq, message.ts, 10, 0, message.sig]],
        },
        "register_decreased",
    )


def test_a_revoked_meter_cannot_add_readings() -> None:
    chain = ChainBuilder()
    chain.enrol("a")
    key_id = chain.homes["a"].meters["grid"].key_id
    chain.add({"kind": "revoke", "home_id": "a", "key_id": key_id})
    with pytest.raises(LedgerError) as err:
        chain.readings("a", T0, grid=(1, 0))
    assert err.value.reason == "revoked_key"


def test_local_energy_in_a_clearing_must_balance() -> None:
    chain = ChainBuilder()
    chain.enrol("a")
    with pytest.raises(LedgerError, match="does not balance"):
        chain.clearing(T0, [{"home_id": "a", "bought_local_wh": 10}])
    chain.clearing(T0, [])
    with pytest.raises(LedgerError, match="already cleared"):
        chain.clearing(T0, [])


@pytest.mark.parametrize(
    ("change", "reason", "match"),
    [
        ({"home_id": "nobody"}, "unknown_account", "allocation for unknown home nobody"),
        ({"bid_key_id": "a-key"}, "key_not_yours", "home b: bid not signed by its home key"),
        ({"bid_key_id": ["not", "a", "string"]}, "invalid_entry", "bid_key_id must be"),
        ({"sold_grid_wh": -1}, "invalid_entry", "sold_grid_wh must be >= 0"),
        ({"paid_mminor": True}, "invalid_entry", "paid_mminor must be an integer"),
        ({"bid_digest": ""}, "invalid_entry", "bid_digest must be a non-empty string"),
        ({"dispatch": None}, "invalid_entry", "malformed clearing"),
    ],
)
def test_a_clearing_with_a_bad_allocation_is_refused_with_its_reason(
    change: dict[str, object], reason: str, match: str
) -> None:
    chain = ChainBuilder()
    chain.enrol("a")
    chain.enrol("b")
    entry = {
        "kind": "clearing",
        "interval_start": T0,
        "interval_end": T0 + 900,
        "price": None,
        "volume_wh": 0,
        "retail_price": 30,
        "feed_in_price": 8,
        "fee_per_kwh": 0,
        "k_percent": 50,
        "allocations": [allocation(chain, "a"), {**allocation(chain, "b"), **change}],
    }
    if change.get("bid_key_id") == "a-key":
        entry["allocations"][1]["bid_key_id"] = chain.homes["a"].key.key_id  # type: ignore[index]
    refused(chain, entry, reason, match)
    assert T0 not in chain.state.cleared


def allocation(chain: ChainBuilder, home_id: str) -> dict[str, object]:
    return {
        "home_id": home_id,
        "bought_local_wh": 0,
        "sold_local_wh": 0,
        "bought_grid_wh": 0,
        "sold_grid_wh": 0,
        "paid_mminor": 0,
        "received_mminor": 0,
        "fees_mminor": 0,
        "bid_key_id": chain.homes[home_id].key.key_id,
        "bid_seq": 1,
        "bid_digest": "ab" * 32,
        "priority": 0,
        "dispatch": [],
    }
