"""Pure rules deciding the fate of each signed meter reading in a batch.

Given what the hub knows about each meter (its key record and state after the last accepted
reading), every item is judged in order: accepted (and the meter state advances), a duplicate of
something already stored (counted once, not an error), or rejected with a reason code. A rejected
item changes nothing.

The rule a reading obeys wherever it is checked is defined once here, in two parts:
`meter_key_problem` (an enrolled, unrevoked meter key of the right home) and `order_problem`
(sequence up, time not back, registers not down). Ingest (`judge_batch`) adds the freshness
window and the signature; the ledger (hub.ledger.accounts) applies the same two functions to
every reading a block records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.freshness import check_timestamp
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


class MeterKey(Protocol):
    """What the reading rule needs to know about the key that signed a reading."""

    @property
    def home_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def revoked(self) -> bool: ...


# A meter's last accepted reading: (seq, ts, import_wh, export_wh); None where not known.
LastReading = tuple[int | None, int | None, int | None, int | None]


def meter_key_problem(
    key_id: str, key: MeterKey | None, home_id: str | None
) -> tuple[str, str] | None:
    """(reason, detail) when `key` may not sign a reading for `home_id` (None: any home)."""
    if key is None:
        return errors.UNKNOWN_KEY, f"key {key_id} is not enrolled"
    if home_id is not None and key.home_id != home_id:
        return errors.KEY_NOT_YOURS, f"key {key_id} belongs to another home"
    if key.revoked:
        return errors.REVOKED_KEY, f"key {key_id} has been revoked"
    if key.kind == "home":
        return errors.WRONG_KEY_KIND, "readings must be signed by a meter key"
    return None


def order_problem(
    last: LastReading | None, seq: int, ts: int, import_wh: int, export_wh: int
) -> tuple[str, str] | None:
    """(reason, detail) when a reading may not follow the meter's last accepted one: its
    sequence must go up, its time must not go back and neither register may go down."""
    if last is None:
        return None
    last_seq, last_ts, last_import, last_export = last
    if last_seq is not None and seq <= last_seq:
        return errors.REPLAY, f"sequence {seq} is not above the last accepted {last_seq}"
    if last_ts is not None and ts < last_ts:
        return (
            errors.TIME_WENT_BACKWARDS,
            f"reading time {ts} is before the last accepted {last_ts}",
        )
    if last_import is not None and import_wh < last_import:
        return (
            errors.REGISTER_DECREASED,
            f"import_wh went down from {last_import} to {import_wh} Wh",
        )
    if last_export is not None and export_wh < last_export:
        return (
            errors.REGISTER_DECREASED,
            f"export_wh went down from {last_export} to {export_wh} Wh",
        )
    return None


def _meter_for(home_id: str, item: SignedMessage, states: Mapping[str, MeterState]) -> MeterState:
    state = states.get(item.key_id)
    problem = meter_key_problem(item.key_id, state, home_id)
    if problem is not None:
        raise ProtocolError(*problem)
    assert state is not None
    return state


def _advance(
    state: MeterState,
    item: SignedMessage,
    registers: Registers,
    now_ms: int,
    window: ReadingWindow,
) -> MeterState:
    check_timestamp(now_ms, item.ts, window.max_age_ms, window.max_ahead_ms)
    last = (state.last_seq, state.last_ts, state.import_wh, state.export_wh)
    problem = order_problem(last, item.seq, item.ts, registers.import_wh, registers.export_wh)
    if problem is not None:
        raise ProtocolError(*problem)
    return replace(
        state,
        last_seq=item.seq,
        last_ts=item.ts,
        import_wh=registers.import_wh,
        export_wh=registers.export_wh,
    )
