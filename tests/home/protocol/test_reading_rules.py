"""judge_batch: the fate of every signed meter reading in a batch, in order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.reading_rules import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    MeterState,
    ReadingWindow,
    Verdict,
    judge_batch,
)
from gridcoop_home.protocol.readings import Registers, sign_reading

HOME = "home-a"
NOW = 1_767_225_600_000
WINDOW = ReadingWindow(max_age_ms=3_600_000, max_ahead_ms=60_000)
T0 = NOW - 600_000  # ten minutes ago: well inside the window

KEYS = {name: SigningKey.generate() for name in ("grid", "pv", "home", "other")}


def state(
    name: str = "grid",
    *,
    home_id: str = HOME,
    kind: str | None = None,
    revoked: bool = False,
    last: tuple[int, int, int, int] | None = None,  # (seq, ts, import_wh, export_wh)
) -> MeterState:
    key = KEYS[name]
    seq, ts, imp, exp = last if last is not None else (None, None, None, None)
    return MeterState(
        key_id=key.key_id,
        home_id=home_id,
        kind=kind or name,
        public_key=key.public_text,
        revoked=revoked,
        last_seq=seq,
        last_ts=ts,
        import_wh=imp,
        export_wh=exp,
    )


def reading(
    seq: int, import_wh: int, export_wh: int = 0, ts: int | None = None, meter: str = "grid"
) -> SignedMessage:
    ts = T0 + seq * 1_000 if ts is None else ts
    return sign_reading(KEYS[meter], Registers(import_wh, export_wh), seq=seq, ts_ms=ts)


def judge(
    items: Sequence[SignedMessage | ProtocolError],
    states: Sequence[MeterState] = (),
    stored: set[str] | None = None,
) -> tuple[list[Verdict], dict[str, MeterState]]:
    """Judge like the hub does: signatures checked up front against the enrolled public keys."""
    by_key = {s.key_id: s for s in (states or [state()])}
    signature_ok = {
        i: item.signature_valid(by_key[item.key_id].public_key)
        for i, item in enumerate(items)
        if isinstance(item, SignedMessage) and item.key_id in by_key
    }
    return judge_batch(HOME, items, by_key, stored or set(), signature_ok, NOW, WINDOW)


def statuses(verdicts: list[Verdict]) -> list[tuple[str, str | None]]:
    return [(v.status, v.reason) for v in verdicts]


def test_an_accepted_reading_advances_the_meter_state() -> None:
    verdicts, changed = judge([reading(seq=5, import_wh=1_000, export_wh=20)])

    assert statuses(verdicts) == [(ACCEPTED, None)]
    assert verdicts[0].registers == Registers(1_000, 20)
    assert changed == {
        KEYS["grid"].key_id: dataclasses.replace(
            state(), last_seq=5, last_ts=T0 + 5_000, import_wh=1_000, export_wh=20
        )
    }


def test_a_batch_of_increasing_readings_is_accepted_and_the_last_one_wins() -> None:
    verdicts, changed = judge([reading(1, 100), reading(2, 150, 3), reading(3, 150, 9)])

    assert statuses(verdicts) == [(ACCEPTED, None)] * 3
    final = changed[KEYS["grid"].key_id]
    assert (final.last_seq, final.last_ts, final.import_wh, final.export_wh) == (
        3,
        T0 + 3_000,
        150,
        9,
    )


def test_the_input_states_are_not_modified() -> None:
    states = [state(last=(1, T0, 10, 0))]

    judge([reading(2, 20)], states)

    assert states[0].last_seq == 1
    assert states[0].import_wh == 10


def test_unchanged_meters_are_not_reported_as_changed() -> None:
    _verdicts, changed = judge([reading(1, 10, meter="pv")], [state(), state("pv")])

    assert set(changed) == {KEYS["pv"].key_id}


def test_a_reading_already_stored_is_a_duplicate_and_changes_nothing() -> None:
    item = reading(1, 100)

    verdicts, changed = judge([item], stored={item.digest})

    assert statuses(verdicts) == [(DUPLICATE, None)]
    assert changed == {}


def test_a_reading_repeated_in_the_same_batch_is_a_duplicate_the_second_time() -> None:
    item = reading(1, 100)

    verdicts, changed = judge([item, item, reading(2, 120)])

    assert statuses(verdicts) == [(ACCEPTED, None), (DUPLICATE, None), (ACCEPTED, None)]
    assert changed[KEYS["grid"].key_id].last_seq == 2


def test_a_rejected_reading_sent_again_is_rejected_again_not_a_duplicate() -> None:
    bad = reading(1, 50)

    verdicts, _ = judge([bad, bad], [state(last=(0, T0, 100, 0))])

    assert statuses(verdicts) == [(REJECTED, errors.REGISTER_DECREASED)] * 2


@pytest.mark.parametrize("seq", [9, 10])
def test_a_sequence_not_above_the_last_accepted_is_a_replay(seq: int) -> None:
    verdicts, changed = judge([reading(seq, 500, ts=T0 + 60_000)], [state(last=(10, T0, 100, 0))])

    assert statuses(verdicts) == [(REJECTED, errors.REPLAY)]
    assert changed == {}


@pytest.mark.parametrize(
    ("import_wh", "export_wh", "word"),
    [(99, 50, "import_wh"), (100, 49, "export_wh")],
)
def test_a_register_going_down_is_register_decreased(
    import_wh: int, export_wh: int, word: str
) -> None:
    verdicts, changed = judge([reading(2, import_wh, export_wh)], [state(last=(1, T0, 100, 50))])

    assert statuses(verdicts) == [(REJECTED, errors.REGISTER_DECREASED)]
    assert word in (verdicts[0].detail or "")
    assert changed == {}


def test_registers_that_stay_the_same_are_fine() -> None:
    verdicts, _ = judge([reading(2, 100, 50)], [state(last=(1, T0, 100, 50))])

    assert statuses(verdicts) == [(ACCEPTED, None)]


def test_a_reading_older_than_the_last_accepted_is_time_went_backwards() -> None:
    verdicts, changed = judge([reading(2, 200, ts=T0 - 1)], [state(last=(1, T0, 100, 0))])

    assert statuses(verdicts) == [(REJECTED, errors.TIME_WENT_BACKWARDS)]
    assert changed == {}


def test_a_reading_with_the_same_timestamp_as_the_last_is_fine() -> None:
    verdicts, _ = judge([reading(2, 200, ts=T0)], [state(last=(1, T0, 100, 0))])

    assert statuses(verdicts) == [(ACCEPTED, None)]


def test_an_unknown_key_is_rejected() -> None:
    stranger = sign_reading(SigningKey.generate(), Registers(1, 0), seq=1, ts_ms=T0)

    verdicts, changed = judge([stranger])

    assert statuses(verdicts) == [(REJECTED, errors.UNKNOWN_KEY)]
    assert changed == {}


def test_a_meter_key_of_another_home_is_key_not_yours() -> None:
    verdicts, changed = judge(
        [reading(1, 10, meter="other")], [state("other", home_id="home-b", kind="grid")]
    )

    assert statuses(verdicts) == [(REJECTED, errors.KEY_NOT_YOURS)]
    assert changed == {}


def test_a_revoked_meter_key_is_rejected() -> None:
    verdicts, _ = judge([reading(1, 10)], [state(revoked=True)])

    assert statuses(verdicts) == [(REJECTED, errors.REVOKED_KEY)]


def test_a_reading_signed_with_the_home_key_is_wrong_key_kind() -> None:
    verdicts, _ = judge([reading(1, 10, meter="home")], [state("home")])

    assert statuses(verdicts) == [(REJECTED, errors.WRONG_KEY_KIND)]


def test_a_tampered_reading_is_bad_signature() -> None:
    genuine = reading(1, 100)
    tampered = dataclasses.replace(genuine, body={"import_wh": 1, "export_wh": 0})

    verdicts, changed = judge([tampered])

    assert statuses(verdicts) == [(REJECTED, errors.BAD_SIGNATURE)]
    assert changed == {}


def test_a_reading_without_a_signature_check_result_counts_as_a_bad_signature() -> None:
    verdicts, _ = judge_batch(
        HOME, [reading(1, 100)], {KEYS["grid"].key_id: state()}, set(), {}, NOW, WINDOW
    )

    assert statuses(verdicts) == [(REJECTED, errors.BAD_SIGNATURE)]


def test_a_reading_with_a_malformed_body_is_malformed() -> None:
    item = sign_message(KEYS["grid"], "reading", {"import_wh": 1}, seq=1, ts=T0)

    verdicts, _ = judge([item])

    assert statuses(verdicts) == [(REJECTED, errors.MALFORMED)]


def test_backlog_exactly_at_the_age_limit_is_accepted_and_one_ms_older_is_too_old() -> None:
    oldest = NOW - WINDOW.max_age_ms
    verdicts, _ = judge([reading(1, 10, ts=oldest - 1), reading(2, 10, ts=oldest)])

    assert statuses(verdicts) == [(REJECTED, errors.TIMESTAMP_TOO_OLD), (ACCEPTED, None)]


def test_a_reading_beyond_the_tolerated_clock_skew_is_in_the_future() -> None:
    furthest = NOW + WINDOW.max_ahead_ms
    verdicts, _ = judge([reading(1, 10, ts=furthest + 1), reading(2, 10, ts=furthest)])

    assert statuses(verdicts) == [(REJECTED, errors.TIMESTAMP_IN_FUTURE), (ACCEPTED, None)]


def test_a_rejected_item_leaves_the_state_so_the_next_is_judged_against_the_last_accepted() -> None:
    items = [
        reading(1, 100, 10),
        reading(2, 90, 10),  # import went down: rejected
        reading(3, 95, 10),  # still below the accepted 100: rejected too
        reading(2, 130, 11),  # seq 2 was never accepted, so it is not a replay
    ]

    verdicts, changed = judge(items)

    assert statuses(verdicts) == [
        (ACCEPTED, None),
        (REJECTED, errors.REGISTER_DECREASED),
        (REJECTED, errors.REGISTER_DECREASED),
        (ACCEPTED, None),
    ]
    final = changed[KEYS["grid"].key_id]
    assert (final.last_seq, final.import_wh, final.export_wh) == (2, 130, 11)


def test_protocol_errors_pass_through_as_rejected_items_at_their_position() -> None:
    parse_failure = ProtocolError(errors.MALFORMED, "readings[1] lacks ['sig']")
    items: list[SignedMessage | ProtocolError] = [reading(1, 10), parse_failure, reading(2, 20)]

    verdicts, changed = judge(items)

    assert statuses(verdicts) == [
        (ACCEPTED, None),
        (REJECTED, errors.MALFORMED),
        (ACCEPTED, None),
    ]
    assert verdicts[1].detail == "readings[1] lacks ['sig']"
    assert changed[KEYS["grid"].key_id].last_seq == 2


def test_meters_of_one_home_are_judged_independently() -> None:
    items = [reading(5, 100, meter="grid"), reading(1, 7, meter="pv"), reading(2, 9, meter="pv")]

    verdicts, changed = judge(items, [state(last=(4, T0, 90, 0)), state("pv")])

    assert statuses(verdicts) == [(ACCEPTED, None)] * 3
    assert changed[KEYS["grid"].key_id].last_seq == 5
    assert changed[KEYS["pv"].key_id].last_seq == 2
    assert changed[KEYS["pv"].key_id].import_wh == 9


def test_verdicts_on_the_wire_carry_a_reason_only_when_rejected() -> None:
    assert Verdict(ACCEPTED, registers=Registers(1, 2)).to_wire(0) == {
        "index": 0,
        "status": "accepted",
    }
    assert Verdict(DUPLICATE).to_wire(3) == {"index": 3, "status": "duplicate"}
    assert Verdict(REJECTED, "replay", "sequence 1 ...").to_wire(4) == {
        "index": 4,
        "status": "rejected",
        "reason": "replay",
        "detail": "sequence 1 ...",
    }
