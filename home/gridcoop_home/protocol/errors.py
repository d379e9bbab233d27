"""Protocol errors carry a stable machine-readable reason code and a human explanation."""

from __future__ import annotations

# Stable reason codes: clients and tests match on these, so never rename one.
MALFORMED = "malformed"
UNSUPPORTED_VERSION = "unsupported_version"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
KEY_NOT_YOURS = "key_not_yours"
WRONG_KEY_KIND = "wrong_key_kind"
BAD_SIGNATURE = "bad_signature"
REPLAY = "replay"
TIMESTAMP_TOO_OLD = "timestamp_too_old"
TIMESTAMP_IN_FUTURE = "timestamp_in_future"
REGISTER_DECREASED = "register_decreased"
TIME_WENT_BACKWARDS = "time_went_backwards"
GATE_CLOSED = "gate_closed"
INTERVAL_MISALIGNED = "interval_misaligned"
INTERVAL_TOO_FAR = "interval_too_far"
OUT_OF_BOUNDS = "out_of_bounds"
NOT_MONOTONE = "not_monotone"
CURVES_CROSS = "curves_cross"
UNKNOWN_JOIN_CODE = "unknown_join_code"
EXPIRED_JOIN_CODE = "expired_join_code"
USED_JOIN_CODE = "used_join_code"
DUPLICATE_KEY = "duplicate_key"
DUPLICATE_METER_NAME = "duplicate_meter_name"
UNAUTHENTICATED = "unauthenticated"
HOME_REVOKED = "home_revoked"
# Market modes (docs/feeder.md): continuous orders, the feeder.
WRONG_MARKET_MODE = "wrong_market_mode"
DUPLICATE_ORDER = "duplicate_order"
UNKNOWN_ORDER = "unknown_order"
NOT_CONFIGURED = "not_configured"
# Ledger (hub.ledger): entries, blocks, tokens, certificates, validators.
LEDGER_DISABLED = "ledger_disabled"
LEDGER_STARTING = "ledger_starting"
INVALID_ENTRY = "invalid_entry"
DOUBLE_MINT = "double_mint"
ALREADY_SETTLED = "already_settled"
ALREADY_RETIRED = "already_retired"
INSUFFICIENT_TOKENS = "insufficient_tokens"
UNKNOWN_CERTIFICATE = "unknown_certificate"
NOT_GREEN = "not_green"
UNKNOWN_ACCOUNT = "unknown_account"
UNKNOWN_BLOCK = "unknown_block"
UNKNOWN_VALIDATOR = "unknown_validator"
VALIDATOR_NOT_ACTIVE = "validator_not_active"
DUPLICATE_VALIDATOR = "duplicate_validator"
BAD_PROOF_OF_POSSESSION = "bad_proof_of_possession"
BAD_BLOCK_SIGNATURE = "bad_block_signature"


class ProtocolError(ValueError):
    """A message broke a protocol rule. `reason` is a stable code clients can act on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
