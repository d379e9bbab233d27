"""Replay and clock rules, checked at their exact boundaries."""

from __future__ import annotations

import pytest
from gridcoop_home.protocol.errors import (
    REPLAY,
    TIMESTAMP_IN_FUTURE,
    TIMESTAMP_TOO_OLD,
    ProtocolError,
)
from gridcoop_home.protocol.freshness import check_sequence, check_timestamp

NOW = 1_767_225_600_000
MAX_AGE = 300_000
MAX_AHEAD = 30_000


def test_any_sequence_is_fine_for_a_key_that_never_sent_one() -> None:
    check_sequence(None, 0)


def test_a_sequence_one_above_the_last_accepted_is_fine() -> None:
    check_sequence(41, 42)


@pytest.mark.parametrize("seq", [42, 41, 0])
def test_a_sequence_not_above_the_last_accepted_is_a_replay(seq: int) -> None:
    with pytest.raises(ProtocolError) as err:
        check_sequence(42, seq)

    assert err.value.reason == REPLAY


@pytest.mark.parametrize(
    "ts", [NOW - MAX_AGE, NOW, NOW + MAX_AHEAD], ids=["oldest", "now", "furthest_ahead"]
)
def test_timestamps_inside_the_window_including_both_edges_pass(ts: int) -> None:
    check_timestamp(NOW, ts, MAX_AGE, MAX_AHEAD)


def test_one_ms_older_than_the_window_is_timestamp_too_old() -> None:
    with pytest.raises(ProtocolError) as err:
        check_timestamp(NOW, NOW - MAX_AGE - 1, MAX_AGE, MAX_AHEAD)

    assert err.value.reason == TIMESTAMP_TOO_OLD


def test_one_ms_beyond_the_tolerated_skew_is_timestamp_in_future() -> None:
    with pytest.raises(ProtocolError) as err:
        check_timestamp(NOW, NOW + MAX_AHEAD + 1, MAX_AGE, MAX_AHEAD)

    assert err.value.reason == TIMESTAMP_IN_FUTURE


def test_a_zero_width_window_accepts_only_the_current_millisecond() -> None:
    check_timestamp(NOW, NOW, 0, 0)
    for ts, reason in ((NOW - 1, TIMESTAMP_TOO_OLD), (NOW + 1, TIMESTAMP_IN_FUTURE)):
        with pytest.raises(ProtocolError) as err:
            check_timestamp(NOW, ts, 0, 0)
        assert err.value.reason == reason
