"""What can go wrong talking to a hub, as exception types keyed on the hub's reason codes
(gridcoop_home.protocol.errors): a client acts on the type, never on parsing messages."""

from __future__ import annotations

from gridcoop_home.protocol import errors as codes


class HubUnreachable(Exception):
    """No answer from the hub (connection refused, timeout, DNS, TLS...)."""


class HubError(Exception):
    """The hub answered with an error: `reason` is its stable reason code."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(f"hub refused ({status} {reason}): {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


class HomeRefused(HubError):
    """The hub no longer accepts this home or its key: only a new join code helps."""


class JoinRefused(HubError):
    """The join code is unknown, used or expired (or a key is already enrolled)."""


class BidRefused(HubError):
    """The bid broke a market rule (gate closed, bounds, shape)."""


class ClockSkew(HubError):
    """The request's timestamp is outside the hub's window: this machine's clock is off."""


class LedgerDisabled(HubError):
    """The hub runs the market without the token ledger."""


class BadResponse(HubError):
    """The hub answered something that is not the documented shape."""


_BY_REASON: dict[str, type[HubError]] = {
    **dict.fromkeys(
        (codes.UNKNOWN_KEY, codes.REVOKED_KEY, codes.HOME_REVOKED, codes.KEY_NOT_YOURS),
        HomeRefused,
    ),
    **dict.fromkeys(
        (
            codes.UNKNOWN_JOIN_CODE,
            codes.EXPIRED_JOIN_CODE,
            codes.USED_JOIN_CODE,
            codes.DUPLICATE_KEY,
        ),
        JoinRefused,
    ),
    **dict.fromkeys(
        (
            codes.GATE_CLOSED,
            codes.OUT_OF_BOUNDS,
            codes.NOT_MONOTONE,
            codes.CURVES_CROSS,
            codes.INTERVAL_MISALIGNED,
            codes.INTERVAL_TOO_FAR,
        ),
        BidRefused,
    ),
    **dict.fromkeys((codes.TIMESTAMP_TOO_OLD, codes.TIMESTAMP_IN_FUTURE), ClockSkew),
    codes.LEDGER_DISABLED: LedgerDisabled,
}


def error_for(status: int, reason: str, detail: str) -> HubError:
    """The exception for a hub refusal (HubError itself for reasons without a type)."""
    return _BY_REASON.get(reason, HubError)(status, reason, detail)
