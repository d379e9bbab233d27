"""Signed message envelopes and the sequence counter behind them."""

from __future__ import annotations

import dataclasses
import itertools
import json
import pickle
import types
from typing import Any

import pytest
from gridcoop_home.protocol import envelope
from gridcoop_home.protocol.canonical import digest
from gridcoop_home.protocol.envelope import (
    SequenceCounter,
    SignedMessage,
    parse_signed_message,
    sign_message,
)
from gridcoop_home.protocol.errors import MALFORMED, UNSUPPORTED_VERSION, ProtocolError
from gridcoop_home.protocol.keys import SigningKey

NOW = 1_767_225_600_000
BODY = {"import_wh": 1_200, "export_wh": 35}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def message(key: SigningKey) -> SignedMessage:
    return sign_message(key, "reading", dict(BODY), seq=17, ts=NOW)


def wire(message: SignedMessage, **changes: Any) -> dict[str, Any]:
    data = message.to_wire()
    data.update(changes)
    return data


def parse_error(data: object, expected_type: str = "reading") -> ProtocolError:
    with pytest.raises(ProtocolError) as err:
        parse_signed_message(data, expected_type)
    return err.value


def test_a_signed_message_verifies_with_its_key(key: SigningKey, message: SignedMessage) -> None:
    assert message.key_id == key.key_id
    assert message.v == 1
    assert message.signature_valid(key.public_text)


def test_a_signed_message_does_not_verify_with_another_key(message: SignedMessage) -> None:
    assert not message.signature_valid(SigningKey.generate().public_text)


def test_the_wire_form_has_exactly_the_envelope_fields(message: SignedMessage) -> None:
    assert message.to_wire() == {
        "v": 1,
        "type": "reading",
        "key_id": message.key_id,
        "seq": 17,
        "ts": NOW,
        "body": BODY,
        "sig": message.sig,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 18},
        {"ts": NOW + 1},
        {"body": {"import_wh": 1_201, "export_wh": 35}},
        {"body": {"import_wh": 1_200, "export_wh": 35, "extra": 0}},
        {"key_id": "0" * 32},
        {"type": "bid"},
        {"v": 2},
    ],
    ids=lambda change: next(iter(change)),
)
def test_changing_any_signed_field_breaks_the_signature(
    key: SigningKey, message: SignedMessage, change: dict[str, Any]
) -> None:
    tampered = dataclasses.replace(message, **change)

    assert not tampered.signature_valid(key.public_text)


def test_a_message_survives_a_json_round_trip(key: SigningKey, message: SignedMessage) -> None:
    received = parse_signed_message(json.loads(json.dumps(message.to_wire())), "reading")

    assert received == message
    assert received.signature_valid(key.public_text)
    assert received.digest == message.digest


def test_the_digest_identifies_content_and_signature(
    key: SigningKey, message: SignedMessage
) -> None:
    again = sign_message(key, "reading", dict(BODY), seq=17, ts=NOW)
    later = sign_message(key, "reading", dict(BODY), seq=18, ts=NOW)

    assert again.digest == message.digest
    assert later.digest != message.digest
    other_first = "A" if message.sig[0] != "A" else "B"  # never the character already there
    tampered = dataclasses.replace(message, sig=other_first + message.sig[1:])
    assert tampered.digest != message.digest


def test_the_digest_is_the_hash_of_the_wire_form_computed_once(
    message: SignedMessage, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[dict[str, Any]] = []

    def counting(value: Any) -> str:
        computed.append(value)
        return digest(value)

    monkeypatch.setattr(envelope, "digest", counting)

    assert message.digest == digest(message.to_wire())
    assert message.digest == digest(message.to_wire())
    assert computed == [message.to_wire()]


def test_a_changed_copy_has_its_own_digest(message: SignedMessage) -> None:
    original = message.digest

    later = dataclasses.replace(message, seq=18)

    assert later.digest == digest(later.to_wire()) != original


def test_a_pickled_message_is_equal_and_computes_its_own_digest(message: SignedMessage) -> None:
    object.__setattr__(message, "_digest", "not what the sender computed")

    received = pickle.loads(pickle.dumps(message))

    assert received == message
    assert received.digest == digest(message.to_wire())


@pytest.mark.parametrize("field", ["v", "type", "key_id", "seq", "ts", "body", "sig"])
def test_a_missing_field_is_malformed(message: SignedMessage, field: str) -> None:
    data = message.to_wire()
    del data[field]

    error = parse_error(data)

    assert error.reason == MALFORMED
    assert field in error.detail


def test_an_unknown_field_is_malformed(message: SignedMessage) -> None:
    error = parse_error(wire(message, nonce=1))

    assert error.reason == MALFORMED
    assert "nonce" in error.detail


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_another_protocol_version_is_unsupported_version(
    message: SignedMessage, version: object
) -> None:
    assert parse_error(wire(message, v=version)).reason == UNSUPPORTED_VERSION


@pytest.mark.parametrize("version", [True, 1.0])
def test_version_must_be_the_integer_one_not_true_or_one_point_zero(
    message: SignedMessage, version: object
) -> None:
    assert parse_error(wire(message, v=version)).reason == UNSUPPORTED_VERSION


def test_a_message_of_the_wrong_type_is_malformed(key: SigningKey) -> None:
    bid = sign_message(key, "bid", {"interval_start": 0, "buy": []}, seq=1, ts=NOW)

    error = parse_error(bid.to_wire(), expected_type="reading")

    assert error.reason == MALFORMED
    assert "expected a 'reading' message" in error.detail


@pytest.mark.parametrize("field", ["seq", "ts"])
@pytest.mark.parametrize("value", [-1, True, False, 1.0, "17", None])
def test_seq_and_ts_must_be_non_negative_integers(
    message: SignedMessage, field: str, value: object
) -> None:
    error = parse_error(wire(message, **{field: value}))

    assert error.reason == MALFORMED
    assert f"{field} must be a non-negative integer" in error.detail


@pytest.mark.parametrize("field", ["seq", "ts"])
def test_seq_and_ts_may_be_the_largest_64_bit_integer_and_no_more(
    message: SignedMessage, field: str
) -> None:
    largest = 2**63 - 1  # stored as signed 64-bit integers
    assert getattr(parse_signed_message(wire(message, **{field: largest}), "reading"), field) == (
        largest
    )
    error = parse_error(wire(message, **{field: largest + 1}))
    assert error.reason == MALFORMED
    assert f"{field} must be a non-negative integer below 2^63" in error.detail


def test_seq_and_ts_zero_are_allowed(key: SigningKey) -> None:
    message = sign_message(key, "reading", dict(BODY), seq=0, ts=0)

    assert parse_signed_message(message.to_wire(), "reading").seq == 0


@pytest.mark.parametrize(
    "body",
    [
        {"import_wh": 1.5, "export_wh": 0},
        {"import_wh": 1, "nested": {"deeper": [1, 2.0]}},
    ],
)
def test_floats_in_the_body_are_malformed(message: SignedMessage, body: dict[str, Any]) -> None:
    assert parse_error(wire(message, body=body)).reason == MALFORMED


@pytest.mark.parametrize("body", [[1, 2], "text", None, 5])
def test_a_body_that_is_not_an_object_is_malformed(message: SignedMessage, body: object) -> None:
    assert parse_error(wire(message, body=body)).reason == MALFORMED


@pytest.mark.parametrize("field", ["key_id", "sig"])
@pytest.mark.parametrize("value", ["", 5, None])
def test_key_id_and_sig_must_be_non_empty_strings(
    message: SignedMessage, field: str, value: object
) -> None:
    assert parse_error(wire(message, **{field: value})).reason == MALFORMED


@pytest.mark.parametrize("data", [[], "message", None, 1])
def test_a_message_that_is_not_an_object_is_malformed(data: object) -> None:
    assert parse_error(data).reason == MALFORMED


# -- sequence counter ---------------------------------------------------------------------------


def frozen_clock(monkeypatch: pytest.MonkeyPatch, ns: int) -> list[int]:
    """Replace the clock the counter reads; returns a cell the test can move forward."""
    now = [ns]
    monkeypatch.setattr(envelope, "time", types.SimpleNamespace(time_ns=lambda: now[0]))
    return now


def test_the_counter_is_strictly_increasing() -> None:
    counter = SequenceCounter()
    values = [counter.next() for _ in range(2_000)]

    assert all(b > a for a, b in itertools.pairwise(values))


def test_a_sequence_is_microseconds_since_the_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch, 1_767_225_600_123_456_789)

    assert SequenceCounter().next() == 1_767_225_600_123_456


def test_calls_within_the_same_microsecond_are_bumped_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_clock(monkeypatch, 5_000_000_000)
    counter = SequenceCounter()

    assert [counter.next() for _ in range(3)] == [5_000_000, 5_000_001, 5_000_002]


def test_a_fresh_counter_after_a_restart_continues_above_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = frozen_clock(monkeypatch, 5_000_000_000)
    before_restart = SequenceCounter()
    issued = [before_restart.next() for _ in range(100)]  # ran 99 µs ahead of the clock
    clock[0] += 1_000_000  # the restart takes a millisecond

    after_restart = SequenceCounter().next()

    assert after_restart == 5_001_000
    assert after_restart > max(issued)


def test_the_counter_follows_the_clock_when_it_moves_on(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = frozen_clock(monkeypatch, 5_000_000_000)
    counter = SequenceCounter()
    first = counter.next()
    clock[0] += 2_000_000_000

    assert counter.next() == first + 2_000_000


def test_the_counter_never_goes_back_when_the_clock_does(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = frozen_clock(monkeypatch, 5_000_000_000)
    counter = SequenceCounter()
    first = counter.next()
    clock[0] -= 3_000_000_000  # NTP step backwards

    assert counter.next() == first + 1


def test_a_real_restart_issues_higher_sequences_than_before() -> None:
    old = SequenceCounter()
    issued = [old.next() for _ in range(50)]
    while envelope.time.time_ns() // 1000 <= max(issued):
        pass  # a restart takes longer than the few µs the old counter may have run ahead

    assert SequenceCounter().next() > max(issued)
