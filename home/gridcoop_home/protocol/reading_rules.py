"""Pure rules deciding the fate of each signed meter reading in a batch.

Given what the hub knows about each meter (its key record and state after the last accepted
reading), every item is judged in order: accepted (and the meter state advances), a duplicate of
something already stored (counted once, not an error), or rejected with a reason code. A rejected
item changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.freshness import check_sequence, check_timestamp
from gridcoop_home.protocol.readings import Registers, parse_registers

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class MeterState:
    """What the hub knows about one key, as far as readings are concerned."""

    key_id: str
    home_id: str
    kind: str
    public_key: str
    revoked: bool
    last_seq: int | None
    last_ts: int | None
    import_wh: int | None
    export_wh: int | None


@dataclass(frozen=True, slots=True)
class ReadingWindow:
    max_age_ms: int  # how old a backlog reading may be when it finally arrives
    max_ahead_ms: int  # tolerated clock skew into the future


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    reason: str | None = None
    detail: str | None = None
    registers: Registers | None = None

    def to_wire(self, index: int) -> dict[str, object]:
        result: dict[str, object] = {"index": index, "status": self.status}
        if self.reason is not None:
            result["reason"] = self.reason
            result["detail"] = self.detail
        return result


def judge_batch(
    home_id: str,
    items: Iterable[SignedMessage | ProtocolError],
    states: Mapping[str, MeterState],
    stored_digests: set[str],
    signature_ok: Mapping[int, bool],
    now_ms: int,
    window: ReadingWindow,
) -> tuple[list[Verdict], dict[str, MeterState]]:
    """Judge items in order. Returns per-item verdicts and the meter states that changed.

    `signature_ok[i]` says whether item i's signature verified (checked up front, in bulk);
    `stored_digests` holds the digests of this batch's messages that are already in the store.
    """
    current = dict(states)
    changed: dict[str, MeterState] = {}
    seen = set(stored_digests)
    verdicts: list[Verdict] = []
    for index, item in enumerate(items):
        if isinstance(item, ProtocolError):
            verdicts.append(Verdict(REJECTED, item.reason, item.detail))
            continue
        if item.digest in seen:
            verdicts.append(Verdict(DUPLICATE))
            continue
        try:
            state = _meter_for(home_id, item, current)
            if not signature_ok.get(index, False):
                raise ProtocolError(errors.BAD_SIGNATURE, "signature does not verify")
            registers = parse_registers(item.body)
            updated = _advance(state, item, registers, now_ms, window)
        except ProtocolError as err:
            verdicts.append(Verdict(REJECTED, err.reason, err.detail))
            continue
        current[item.key_id] = changed[item.key_id] = updated
        seen.add(item.digest)
        verdicts.append(Verdict(ACCEPTED, registers=registers))
    return verdicts, changed


def _meter_for(home_id: str, item: SignedMessage, states: Mapping[str, MeterState]) -> MeterState:
    state = states.get(item.key_id)
    if state is None:
        raise ProtocolError(errors.UNKNOWN_KEY, f"key {item.key_id} is not enrolled")
    if state.home_id != home_id:
        raise ProtocolError(errors.KEY_NOT_YOURS, f"key {item.key_id} belongs to another home")
    if state.revoked:
        raise ProtocolError(errors.REVOKED_KEY, f"key {item.key_id} has been revoked")
    if state.kind == "home":
        raise ProtocolError(errors.WRONG_KEY_KIND, "readings must be signed by a meter key")
    return state


def _advance(
    state: MeterState,
    item: SignedMessage,
    registers: Registers,
    now_ms: int,
    window: ReadingWindow,
) -> MeterState:
    check_timestamp(now_ms, item.ts, window.max_age_ms, window.max_ahead_ms)
    check_sequence(state.last_seq, item.seq)
    if state.last_ts is not None and item.ts < state.last_ts:
        raise ProtocolError(
            errors.TIME_WENT_BACKWARDS,
            f"reading time {item.ts} is before the last accepted {state.last_ts}",
        )
    for name, new, old in (
        ("import_wh", registers.import_wh, state.import_wh),
        ("export_wh", registers.export_wh, state.export_wh),
    ):
        if old is not None and new < old:
            raise ProtocolError(
                errors.REGISTER_DECREASED, f"{name} went down from {old} to {new} Wh"
            )
    return replace(
        state,
        last_seq=item.seq,
        last_ts=item.ts,
        import_wh=registers.import_wh,
        export_wh=registers.export_wh,
    )
