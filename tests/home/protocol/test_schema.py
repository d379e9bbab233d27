"""Every message the code produces validates against the published JSON Schemas (2020-12)."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidLimits, parse_bid
from gridcoop_home.protocol.dispatch import DispatchCommand, derive_commands
from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.envelope import sign_message
from gridcoop_home.protocol.errors import REPLAY
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.reading_rules import ACCEPTED, DUPLICATE, REJECTED, Verdict
from gridcoop_home.protocol.readings import Registers, sign_reading
from gridcoop_home.protocol.schema import SCHEMAS
from jsonschema import Draft202012Validator

from hub.store.records import HomeRecord, IntervalRecord, KeyRecord, ReadingRecord

NOW = 1_767_225_600_000
START = 1_767_225_600
HOME_KEY = SigningKey.generate()
METER_KEY = SigningKey.generate()
BID_BODY = {
    "interval_start": START,
    "buy": [
        {"price": 40, "energy_wh": 1_850, "asset": "ev"},
        {"price": 32, "energy_wh": 600, "asset": "load:dishwasher"},
        {"price": 30, "energy_wh": 400},
    ],
    "sell": [
        {"price": 41, "energy_wh": 500, "asset": "battery"},
        {"price": 45, "energy_wh": 2_000, "asset": "pv"},
    ],
}
DOCUMENT = {"components": {"schemas": SCHEMAS}}


def validator(name: str) -> Draft202012Validator:
    """Validate against components/schemas/<name>, resolving the internal $refs."""
    return Draft202012Validator({**DOCUMENT, "$ref": f"#/components/schemas/{name}"})


def errors_of(name: str, instance: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(instance)]


def dispatch_examples() -> list[dict[str, Any]]:
    bid = parse_bid(BID_BODY, BidLimits())
    fills = [
        ([1_850, 600, 400], [0, 2_000]),  # ev charge, load start, battery idle, pv export
        ([0, 0, 0], [500, 700]),  # ev pause, load defer, battery discharge, pv curtail
    ]
    commands = [
        command.to_wire()
        for buy, sell in fills
        for command in derive_commands(bid.curves, buy, sell, 900)
    ]
    charge = parse_bid(
        {"interval_start": START, "buy": [{"price": 5, "energy_wh": 900, "asset": "battery"}]},
        BidLimits(),
    )
    commands += [c.to_wire() for c in derive_commands(charge.curves, [900], [], 900)]
    return commands


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_is_a_valid_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])


def test_every_ref_points_at_a_defined_schema() -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    targets = {ref.removeprefix("#/components/schemas/") for ref in refs(SCHEMAS)}

    assert {"BidStep", "SignedMessage", "DispatchCommand"} <= targets
    assert targets <= set(SCHEMAS)


def test_a_signed_reading_validates() -> None:
    message = sign_reading(METER_KEY, Registers(12_345, 678), seq=17, ts_ms=NOW)

    assert errors_of("SignedMessage", message.to_wire()) == []
    assert errors_of("ReadingBody", message.body) == []
    assert errors_of("ReadingBatch", {"readings": [message.to_wire()]}) == []


def test_a_signed_bid_and_its_body_validate() -> None:
    body = parse_bid(BID_BODY, BidLimits()).to_wire()
    message = sign_message(HOME_KEY, "bid", body, seq=3, ts=NOW)

    assert errors_of("BidBody", body) == []
    assert errors_of("SignedMessage", message.to_wire()) == []
    assert all(errors_of("BidStep", step) == [] for step in body["buy"] + body["sell"])


def test_an_enrolment_validates() -> None:
    body = build_enrolment(
        "ABCD-EFGH-JKLM",
        HOME_KEY,
        {"main": ("grid", METER_KEY), "roof": ("pv", SigningKey.generate())},
    )

    assert errors_of("Enrolment", body) == []


def test_every_kind_of_dispatch_command_validates() -> None:
    commands = dispatch_examples()

    assert {c["action"] for c in commands} == {
        "charge",
        "pause",
        "start",
        "defer",
        "idle",
        "discharge",
        "export",
        "curtail",
    }
    for command in commands:
        assert errors_of("DispatchCommand", command) == [], command


def test_reading_verdicts_and_batch_results_validate() -> None:
    verdicts = [
        Verdict(ACCEPTED, registers=Registers(1, 2)).to_wire(0),
        Verdict(DUPLICATE).to_wire(1),
        Verdict(REJECTED, REPLAY, "sequence 3 is not above 4").to_wire(2),
    ]

    for verdict in verdicts:
        assert errors_of("ReadingVerdict", verdict) == [], verdict
    result = {"results": verdicts, "accepted": 1, "duplicates": 1, "rejected": 1}
    assert errors_of("ReadingBatchResult", result) == []


def test_store_records_validate_as_served() -> None:
    key = KeyRecord(METER_KEY.key_id, "h1", "grid", "main", METER_KEY.public_text, NOW, None)
    home = HomeRecord("h1", "No. 7", None, NOW, None, (key,))
    interval = IntervalRecord(
        START, START + 900, NOW, False, 21, 20, 22, 4_000, 30, 8, 1, 50, -1_500, 2_000, 300, 0, 3
    )
    commands = tuple(DispatchCommand.from_wire(d) for d in dispatch_examples()[:2])
    allocation = Allocation(START, "h1", 1_000, 0, 200, 0, -21_000, 0, 1_000, "ab" * 32, commands)
    reading = ReadingRecord(METER_KEY.key_id, 17, NOW, 12_345, 678, "cd" * 32)

    assert errors_of("Home", home.to_wire()) == []
    assert errors_of("Key", key.to_wire()) == []
    assert errors_of("IntervalResult", interval.to_wire()) == []
    assert errors_of("Allocation", allocation.to_wire()) == []
    assert errors_of("Reading", reading.to_wire()) == []


# The schemas must also refuse things: a schema that accepts everything proves nothing.


def test_the_envelope_schema_refuses_floats_unknown_fields_and_other_versions() -> None:
    wire = sign_reading(METER_KEY, Registers(1, 2), seq=17, ts_ms=NOW).to_wire()

    assert errors_of("SignedMessage", {**wire, "seq": 1.5}) != []
    assert errors_of("SignedMessage", {**wire, "v": 2}) != []
    assert errors_of("SignedMessage", {**wire, "nonce": 1}) != []
    assert errors_of("SignedMessage", {**wire, "type": "enrol"}) != []
    assert errors_of("SignedMessage", {k: v for k, v in wire.items() if k != "sig"}) != []


def test_the_bid_schema_refuses_bad_assets_and_empty_steps_through_the_ref() -> None:
    bad_asset = {**BID_BODY, "buy": [{"price": 1, "energy_wh": 5, "asset": "Battery"}]}
    no_energy = {**BID_BODY, "sell": [{"price": 1, "energy_wh": 0}]}

    assert errors_of("BidBody", bad_asset) != []
    assert errors_of("BidBody", no_energy) != []


def test_the_dispatch_schema_refuses_unknown_actions_and_negative_power() -> None:
    command = dispatch_examples()[0]

    assert errors_of("DispatchCommand", {**command, "action": "explode"}) != []
    assert errors_of("DispatchCommand", {**command, "power_w": -1}) != []
