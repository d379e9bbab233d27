"""Replay and clock rules shared by every signed thing the hub accepts."""

from __future__ import annotations

from gridcoop_home.protocol.errors import (
    REPLAY,
    TIMESTAMP_IN_FUTURE,
    TIMESTAMP_TOO_OLD,
    ProtocolError,
)


def check_sequence(last_accepted: int | None, seq: int) -> None:
    if last_accepted is not None and seq <= last_accepted:
        raise ProtocolError(
            REPLAY, f"sequence {seq} is not above the last accepted {last_accepted}"
        )


def check_timestamp(now_ms: int, ts_ms: int, max_age_ms: int, max_ahead_ms: int) -> None:
    if ts_ms > now_ms + max_ahead_ms:
        raise ProtocolError(
            TIMESTAMP_IN_FUTURE, f"timestamp is {ts_ms - now_ms} ms ahead of the hub clock"
        )
    if ts_ms < now_ms - max_age_ms:
        raise ProtocolError(
            TIMESTAMP_TOO_OLD, f"timestamp is {now_ms - ts_ms} ms old (limit {max_age_ms} ms)"
        )
