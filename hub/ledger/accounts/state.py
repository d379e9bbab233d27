"""The ledger's state machine: applies entries in chain order and refuses any that break a rule.

The hub applies every entry before storing it, witnesses apply every block they co-sign, and the
audit replays the whole chain: one implementation of the rules for all three. `apply` checks an
entry completely before changing anything, so a refused entry leaves the state as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from gridcoop_home.ledger import entries as kinds
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.entries import (
    ALLOCATION_FIELDS,
    COMMUNITY,
    FORMAT_1_KINDS,
    FORMAT_2_KINDS,
    READING_FIELDS,
    SETTLEMENT_FIELDS,
    SETTLEMENT_KINDS,
    Entry,
)
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.tables import SettledInterval
from gridcoop_home.ledger.transactions import signature_valid
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.keys import key_id_of

from hub.ledger.accounts.meters import MeterTimeline
from hub.ledger.accounts.params import METER_KINDS, LedgerParams
from hub.ledger.accounts.settlement import Allocation, Clearing, settle_interval

KEY_KINDS = ("home", *METER_KINDS)


@dataclass(slots=True)
class KeyInfo:
    home_id: str
    kind: str
    public_key: str
    revoked: bool = False


@dataclass(slots=True)
class HomeInfo:
    keys: list[str] = field(default_factory=list)
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Validator:
    index: int
    name: str
    public_key: bytes
    home_id: str | None
    active_from: int  # first block height this validator may sign


@dataclass(slots=True)
class Lot:
    home_id: str
    meter_key_id: str
    meter_kind: str
    green: bool
    interval_start: int
    minted: int
    unburned: int


def every_block(height: int) -> bool:
    return True


def _fail(reason: str, detail: str) -> LedgerError:
    return LedgerError(reason, detail)


def _int(entry: Entry, name: str, minimum: int | None = 0) -> int:
    value = entry[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(errors.INVALID_ENTRY, f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise _fail(errors.INVALID_ENTRY, f"{name} must be >= {minimum}, got {value}")
    return value


def _all_int(values: tuple[Any, ...]) -> bool:
    """Every value an int, not a bool (the fast path of per-item checks, all in C)."""
    return set(map(type, values)) <= _INT_ONLY


def _all_natural(values: tuple[Any, ...]) -> bool:
    """Every value a non-negative int, not a bool."""
    return _all_int(values) and min(values) >= 0


def _first_unnatural(values: tuple[Any, ...]) -> str:
    for name, value in zip(("seq", "ts", "import_wh", "export_wh"), values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} must be a non-negative integer"
    return "not integers"


# Allocation fields: energies (and the bid's seq) are natural numbers, money may be negative.
_ALLOCATION_ENERGIES = (
    "bought_local_wh",
    "sold_local_wh",
    "bought_grid_wh",
    "sold_grid_wh",
    "bid_seq",
)
_ALLOCATION_SIGNED = ("paid_mminor", "received_mminor", "priority")
_allocation_energies = itemgetter(*_ALLOCATION_ENERGIES)
_allocation_money = itemgetter(*_ALLOCATION_SIGNED)
# An allocation's columns in the order `_columns_valid` takes them.
_ALLOCATION_COLUMN_NAMES = (
    "home_id",
    *_ALLOCATION_ENERGIES,
    *_ALLOCATION_SIGNED,
    "bid_key_id",
    "bid_digest",
    "dispatch",
)
_object_columns = itemgetter(*_ALLOCATION_COLUMN_NAMES)
Columns = tuple[tuple[Any, ...], ...]  # a table read a column at a time
_row_columns = itemgetter(*(ALLOCATION_FIELDS.index(name) for name in _ALLOCATION_COLUMN_NAMES))
_INT_ONLY = {int}
_STR_ONLY = {str}
_LIST_ONLY = {list}


def _str(entry: Entry, name: str) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value:
        raise _fail(errors.INVALID_ENTRY, f"{name} must be a non-empty string")
    return value


def _copy_entry(entry: Entry) -> Entry:
    """A copy sharing no list with `entry` (settlement entries nest lists of lists at most)."""
    return {
        name: [list(item) if type(item) is list else item for item in value]
        if type(value) is list
        else value
        for name, value in entry.items()
    }


def _key_problem(n: int, key_id: str, key: KeyInfo | None, home_id: str | None) -> tuple[str, str]:
    if key is None:
        return errors.UNKNOWN_KEY, f"reading {n}: key {key_id} is not enrolled"
    if home_id is not None and key.home_id != home_id:
        return errors.KEY_NOT_YOURS, f"reading {n}: key {key_id} belongs to another home"
    if key.kind == "home":
        return errors.WRONG_KEY_KIND, f"reading {n}: signed by a home key"
    return errors.REVOKED_KEY, f"reading {n}: key {key_id} is revoked"


def _order_problem(
    n: int, values: tuple[int, int, int, int], last: tuple[int, int, int, int]
) -> tuple[str, str]:
    seq, ts = values[0], values[1]
    if seq <= last[0]:
        return errors.REPLAY, f"reading {n}: seq {seq} is not above {last[0]}"
    if ts < last[1]:
        return errors.TIME_WENT_BACKWARDS, f"reading {n}: time {ts} before {last[1]}"
    return errors.REGISTER_DECREASED, f"reading {n}: a register went down"


_BALANCE_MMINOR = SETTLEMENT_FIELDS.index("balance_mminor")
_MINT_METER = 2  # MINT_FIELDS.index("meter_key_id")


def _mint_meters(entry: Entry) -> list[str]:
    """The meters a settled_interval entry mints for (as it claims; checked after)."""
    mints = entry.get("mints")
    rows = mints.get("rows") if isinstance(mints, dict) else None
    if not isinstance(rows, list):
        return []
    return [row[_MINT_METER] for row in rows if isinstance(row, list) and len(row) > _MINT_METER]


def table_difference(got: Entry, expected: Entry) -> str:
    """Where a table entry first differs from the recomputed one: table, row, home and column."""
    for name in sorted(set(got) | set(expected)):
        found, wanted = got.get(name), expected.get(name)
        if found == wanted:
            continue
        if not (isinstance(found, dict) and isinstance(wanted, dict) and "rows" in wanted):
            return f"{name} is {found!r}, recomputed {wanted!r}"
        if found.get("fields") != wanted["fields"]:
            return f"{name}: fields are {found.get('fields')!r}, expected {wanted['fields']!r}"
        rows, wanted_rows = found.get("rows"), wanted["rows"]
        if not isinstance(rows, list):
            return f"{name}: rows must be a list"
        for index, (row, wanted_row) in enumerate(zip(rows, wanted_rows, strict=False)):
            if row != wanted_row:
                return f"{name} row {index}: {_row_difference(wanted['fields'], row, wanted_row)}"
        return f"{name}: {len(rows)} rows, recomputed {len(wanted_rows)}"
    return "no difference"


def _row_difference(fields: list[str], row: Any, wanted: list[Any]) -> str:
    if not isinstance(row, list) or len(row) != len(wanted):
        return f"{row!r} is not a row of {len(wanted)} values, recomputed {wanted!r}"
    for field_name, value, wanted_value in zip(fields, row, wanted, strict=True):
        if value != wanted_value:
            return (
                f"{fields[0]} {wanted[0]}: {field_name} is {value!r}, recomputed {wanted_value!r}"
            )
    return "no difference"


def _copy_json(value: Any) -> Any:
    """A copy of a JSON value sharing no list or object with it."""
    if type(value) is dict:
        return {name: _copy_json(item) for name, item in value.items()}
    if type(value) is list:
        return [_copy_json(item) for item in value]
    return value


def first_difference(got: Entry, expected: Entry) -> str:
    for name in sorted(set(got) | set(expected)):
        if got.get(name) != expected.get(name):
            return f"{name} is {got.get(name)!r}, recomputed {expected.get(name)!r}"
    return "no difference"


class LedgerState:
    def __init__(
        self,
        backend: BlsBackend | None = None,
        check_meter_signatures: bool = True,
        check_readings: Callable[[int], bool] = every_block,
    ) -> None:
        self.backend = backend or get_backend()
        self.check_meter_signatures = check_meter_signatures
        # The blocks (by height) whose readings are checked here; the others' are added
        # unchecked, for an audit that checks them in another process.
        self.check_readings = check_readings
        self.params: LedgerParams | None = None
        self.height = 0  # the block the next entries belong to
        self.entries_applied = 0
        self.validators: list[Validator] = []
        self.homes: dict[str, HomeInfo] = {}
        self.keys: dict[str, KeyInfo] = {}
        self.timelines: dict[str, MeterTimeline] = {}
        self.clearings: dict[int, Clearing] = {}  # cleared, not yet settled
        self.cleared: dict[int, str] = {}  # interval -> where it was cleared
        self.settled: set[int] = set()
        self.balances: dict[str, int] = {}  # milli-minor units; positive = the coop owes the home
        self.flex: dict[str, int] = {}
        self.utility: dict[str, int] = {}  # utility tokens held (minted, not yet burned)
        self.minted: dict[str, int] = {}
        self.burned: dict[str, int] = {}
        self.lots: dict[str, Lot] = {}
        self.certificates: dict[str, dict[str, int]] = {}  # home -> lot -> units held
        self.retired: dict[str, int] = {}  # lot -> units retired
        self.retired_where: dict[tuple[str, str], str] = {}
        self.mints: dict[tuple[str, int], str] = {}  # (meter, interval) -> where it was minted
        self.tx_seq: dict[str, int] = {}
        self._meters: dict[str, list[tuple[str, str]]] = {}  # meters_of, until a key changes
        self._owners_of: dict[str, str] | None = None  # _home_key_owners, until a home enrols
        self._batch: list[Entry] = []  # the settlement being applied, entry by entry
        self._batch_next = 0  # index in _batch of the entry expected next
        self._batch_interval: int | None = None
        self._computed: tuple[int, int, SettledInterval | None] = (-1, -1, None)  # _settled
        self._computed_entries: list[Entry] = []  # format 1: the entries of self._computed
        self._handlers: dict[str, Callable[[Entry, str], None]] = {
            kinds.GENESIS: self._genesis,
            kinds.VALIDATOR: self._validator,
            kinds.ENROL: self._enrol,
            kinds.REVOKE: self._revoke,
            kinds.READINGS: self._readings,
            kinds.CLEARING: self._clearing,
            kinds.TRANSFER: self._transfer,
            kinds.RETIRE: self._retire,
            kinds.METER_READINGS: self._meter_readings,
            kinds.SETTLED_INTERVAL: self._settled_interval,
        }

    # -- applying ---------------------------------------------------------------------------

    def apply(self, entry: Entry, where: str = "") -> None:
        """Check `entry` against every rule and apply it; raise LedgerError and change nothing."""
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if self.params is None and kind != kinds.GENESIS:
            raise _fail(errors.INVALID_ENTRY, "the chain must start with a genesis entry")
        if self._batch_interval is not None and kind not in SETTLEMENT_KINDS:
            raise _fail(
                errors.INVALID_ENTRY,
                f"{kind} entry inside the settlement of interval {self._batch_interval}; "
                f"{len(self._batch) - self._batch_next} settlement entries still missing",
            )
        if kind in FORMAT_1_KINDS or kind in FORMAT_2_KINDS:
            self._check_format(kind)
        try:
            if kind in SETTLEMENT_KINDS:
                self._settlement_entry(entry, where)
            elif isinstance(kind, str) and kind in self._handlers:
                self._handlers[kind](entry, where)
            else:
                raise _fail(errors.INVALID_ENTRY, f"unknown entry kind {kind!r}")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            if isinstance(err, LedgerError):
                raise
            raise _fail(errors.INVALID_ENTRY, f"malformed {kind} entry: {err!r}") from err
        self.entries_applied += 1

    @property
    def in_settlement(self) -> bool:
        return self._batch_interval is not None

    def _check_format(self, kind: str) -> None:
        assert self.params is not None
        chain_format = self.params.entry_format
        entry_format = 2 if kind in FORMAT_2_KINDS else 1
        if entry_format != chain_format:
            raise _fail(
                errors.INVALID_ENTRY,
                f"{kind} entries belong to entry format {entry_format}; "
                f"this chain uses format {chain_format}",
            )

    def _genesis(self, entry: Entry, where: str) -> None:
        if self.params is not None or self.height != 0:
            raise _fail(errors.INVALID_ENTRY, "a second genesis entry")
        params = LedgerParams.from_wire(entry["params"])
        validator = self._new_validator(entry["validator"], 0, None)
        self.params = params
        self.validators.append(validator)

    def _validator(self, entry: Entry, where: str) -> None:
        index = _int(entry, "index")
        if index != len(self.validators):
            raise _fail(
                errors.INVALID_ENTRY, f"validator index {index}, expected {len(self.validators)}"
            )
        home_id = entry["home_id"]
        if home_id is not None:
            self._active_home(home_id)
            if any(v.home_id == home_id for v in self.validators):
                raise _fail(errors.DUPLICATE_VALIDATOR, f"home {home_id} already has a witness")
        active_from = _int(entry, "active_from")
        if active_from != self.height + 1:
            raise _fail(
                errors.INVALID_ENTRY,
                f"a validator added in block {self.height} is active from {self.height + 1}, "
                f"not {active_from}",
            )
        self.validators.append(self._new_validator(entry, active_from, home_id))

    def _new_validator(self, data: Entry, active_from: int, home_id: str | None) -> Validator:
        name = _str(data, "name")
        public_key = bytes.fromhex(_str(data, "public_key"))
        if any(v.public_key == public_key for v in self.validators):
            raise _fail(
                errors.DUPLICATE_VALIDATOR,
                f"validator key {public_key.hex()[:16]}... is already registered",
            )
        if not self.backend.verify_possession(public_key, bytes.fromhex(_str(data, "pop"))):
            raise _fail(
                errors.BAD_PROOF_OF_POSSESSION,
                f"validator {name!r}: the proof of possession does not verify",
            )
        return Validator(len(self.validators), name, public_key, home_id, active_from)

    def _enrol(self, entry: Entry, where: str) -> None:
        home_id = _str(entry, "home_id")
        if home_id in self.homes:
            raise _fail(errors.INVALID_ENTRY, f"home {home_id} is already enrolled")
        new_keys: dict[str, KeyInfo] = {}
        for key in entry["keys"]:
            key_id, public_key, kind = _str(key, "key_id"), _str(key, "public_key"), key["kind"]
            if key_id != key_id_of(public_key):
                raise _fail(errors.INVALID_ENTRY, f"key id {key_id} does not match its public key")
            if kind not in KEY_KINDS:
                raise _fail(errors.INVALID_ENTRY, f"key {key_id}: unknown kind {kind!r}")
            if key_id in self.keys or key_id in new_keys:
                raise _fail(errors.DUPLICATE_KEY, f"key {key_id} is already enrolled")
            new_keys[key_id] = KeyInfo(home_id, kind, public_key)
        self.homes[home_id] = HomeInfo(keys=sorted(new_keys))
        self.keys.update(new_keys)
        self._meters.pop(home_id, None)
        self._owners_of = None

    def _revoke(self, entry: Entry, where: str) -> None:
        home_id = _str(entry, "home_id")
        home = self.homes.get(home_id)
        if home is None:
            raise _fail(errors.UNKNOWN_ACCOUNT, f"home {home_id} is not enrolled")
        self._meters.pop(home_id, None)
        key_id = entry["key_id"]
        if key_id is None:
            if home.revoked:
                raise _fail(errors.INVALID_ENTRY, f"home {home_id} is already revoked")
            home.revoked = True
            for kid in home.keys:
                self.keys[kid].revoked = True
            return
        key = self.keys.get(key_id)
        if key is None or key.home_id != home_id:
            raise _fail(errors.UNKNOWN_KEY, f"key {key_id} is not a key of home {home_id}")
        if key.revoked:
            raise _fail(errors.REVOKED_KEY, f"key {key_id} is already revoked")
        key.revoked = True

    def _readings(self, entry: Entry, where: str) -> None:
        """Format 1: one home's readings."""
        home_id = _str(entry, "home_id")
        rows = entry["readings"]
        if self.check_readings(self.height):
            self._check_readings(rows, home_id)
        self._add_readings(rows)

    def _meter_readings(self, entry: Entry, where: str) -> None:
        """Format 2: a table of readings from any homes' meters."""
        if entry["fields"] != list(READING_FIELDS):
            raise _fail(errors.INVALID_ENTRY, f"meter_readings fields must be {READING_FIELDS}")
        rows = entry["rows"]
        if self.check_readings(self.height):
            self._check_readings(rows, None)
        self._add_readings(rows)

    def split_readings(
        self, rows: list[list[Any]]
    ) -> tuple[list[list[Any]], list[tuple[list[Any], LedgerError]]]:
        """(rows a readings entry may hold now, [(refused row, why)]): one bad reading must not
        keep the rest of a block's readings out of the ledger."""
        accepted: list[list[Any]] = []
        refused: list[tuple[list[Any], LedgerError]] = []
        checked: dict[str, tuple[int, int, int, int]] = {}
        for row in rows:
            try:
                self._check_readings([row], None, checked)
            except LedgerError as err:
                refused.append((row, err))
            except (ValueError, TypeError) as err:
                refused.append((row, _fail(errors.INVALID_ENTRY, f"malformed reading: {err!r}")))
            else:
                accepted.append(row)
        return accepted, refused

    def _check_readings(
        self,
        rows: Any,
        home_id: str | None,
        checked: dict[str, tuple[int, int, int, int]] | None = None,
    ) -> None:
        """Every row (key_id, seq, ts, import_wh, export_wh, sig) is an enrolled meter's next
        reading: sequence up, time not back, registers not down, signature valid (optional).
        `checked` holds each meter's last reading checked so far (not yet in its timeline)."""
        if not isinstance(rows, list) or not rows:
            raise _fail(errors.INVALID_ENTRY, "readings must be a non-empty list")
        keys, timelines, check_signatures = self.keys, self.timelines, self.check_meter_signatures
        if checked is None:
            checked = {}  # key -> seq, ts, import, export
        for n, row in enumerate(rows):
            key_id, seq, ts, import_wh, export_wh, sig = row
            key = keys.get(key_id)
            if (
                key is None
                or key.kind == "home"
                or key.revoked
                or (home_id is not None and key.home_id != home_id)
            ):
                raise _fail(*_key_problem(n, key_id, key, home_id))
            values = (seq, ts, import_wh, export_wh)
            if not (
                type(seq) is int
                and type(ts) is int
                and type(import_wh) is int
                and type(export_wh) is int
                and min(values) >= 0
            ):
                raise _fail(errors.INVALID_ENTRY, f"reading {n}: {_first_unnatural(values)}")
            last = checked.get(key_id)
            if last is None:
                timeline = timelines.get(key_id)
                if timeline is not None and timeline.last_seq is not None:
                    last = (
                        timeline.last_seq,
                        timeline.times[-1],
                        timeline.imports[-1],
                        timeline.exports[-1],
                    )
            if last is not None and (
                seq <= last[0] or ts < last[1] or import_wh < last[2] or export_wh < last[3]
            ):
                raise _fail(*_order_problem(n, values, last))
            if check_signatures and not SignedMessage(
                "reading", key_id, seq, ts, {"import_wh": import_wh, "export_wh": export_wh}, sig
            ).signature_valid(key.public_key):
                raise _fail(errors.BAD_SIGNATURE, f"reading {n}: meter signature does not verify")
            checked[key_id] = values

    def _add_readings(self, rows: list[list[Any]]) -> None:
        timelines = self.timelines
        for key_id, seq, ts, import_wh, export_wh, _sig in rows:
            timeline = timelines.get(key_id)
            if timeline is None:
                timeline = timelines[key_id] = MeterTimeline()
            timeline.last_seq = seq  # MeterTimeline.add, inlined: a block holds hundreds
            timeline.times.append(ts)
            timeline.imports.append(import_wh)
            timeline.exports.append(export_wh)

    def _clearing(self, entry: Entry, where: str) -> None:
        start, end = _int(entry, "interval_start"), _int(entry, "interval_end")
        if start in self.cleared:
            raise _fail(
                errors.INVALID_ENTRY,
                f"interval {start} was already cleared ({self.cleared[start]})",
            )
        if end <= start:
            raise _fail(errors.INVALID_ENTRY, "interval_end must be after interval_start")
        allocations = self._allocations(*self._allocation_columns(entry["allocations"]))
        homes = [a.home_id for a in allocations]
        if homes != sorted(set(homes)):
            raise _fail(errors.INVALID_ENTRY, "allocations must be sorted by home id, one per home")
        bought = sum(a.bought_local_wh for a in allocations)
        sold = sum(a.sold_local_wh for a in allocations)
        volume = _int(entry, "volume_wh")
        if not bought == sold == volume:
            raise _fail(
                errors.INVALID_ENTRY,
                f"local energy does not balance: bought {bought}, sold {sold}, volume {volume} Wh",
            )
        clearing = Clearing(
            start,
            end,
            _int(entry, "retail_price", None),
            _int(entry, "feed_in_price", None),
            allocations,
        )
        self.cleared[start] = where
        if allocations:
            self.clearings[start] = clearing
        else:
            self.settled.add(start)

    def _allocation_columns(self, allocations: Any) -> tuple[Columns, Callable[[], list[Entry]]]:
        """(the allocations' columns in the order `_columns_valid` takes them, or none when they
        cannot be read that way; a function giving one object per allocation, for `_allocation`).
        Format 1 holds a list of objects, format 2 a table."""
        assert self.params is not None
        if self.params.entry_format == 1:
            if type(allocations) is not list:
                raise _fail(errors.INVALID_ENTRY, "allocations must be a list")
            try:
                return tuple(zip(*map(_object_columns, allocations), strict=True)), allocations.copy
            except (KeyError, TypeError):
                return (), allocations.copy
        if type(allocations) is not dict or allocations.get("fields") != list(ALLOCATION_FIELDS):
            raise _fail(errors.INVALID_ENTRY, f"allocations must be a table of {ALLOCATION_FIELDS}")
        rows = allocations["rows"]
        if type(rows) is not list or set(map(type, rows)) - _LIST_ONLY:
            raise _fail(errors.INVALID_ENTRY, "allocation rows must be lists")
        if set(map(len, rows)) - {len(ALLOCATION_FIELDS)}:
            raise _fail(
                errors.INVALID_ENTRY, f"an allocation row holds {len(ALLOCATION_FIELDS)} values"
            )

        def objects() -> list[Entry]:
            return [dict(zip(ALLOCATION_FIELDS, row, strict=True)) for row in rows]

        return tuple(zip(*map(_row_columns, rows), strict=True)), objects

    def _allocations(
        self, columns: Columns, objects: Callable[[], list[Entry]]
    ) -> tuple[Allocation, ...]:
        """Every allocation, checked a column at a time (a clearing holds one per home); on any
        doubt each is checked on its own by `_allocation`, which names the first problem."""
        if not columns or not self._columns_valid(columns):
            return tuple(map(self._allocation, objects()))
        homes, bought, sold, bought_grid, sold_grid, _seqs, paid, got, *_rest, dispatch = columns
        commands = (
            tuple(self._allocation(raw).dispatch for raw in objects())
            if any(dispatch)
            else ((),) * len(homes)
        )
        return tuple(
            map(Allocation, homes, bought, sold, bought_grid, sold_grid, paid, got, commands)
        )

    def _columns_valid(self, columns: Columns) -> bool:
        """What `_allocation` checks, over whole columns in C: energies natural, money integral,
        each bid signed by a home key of its own (enrolled) home, digests non-empty strings."""
        homes, bought, sold, bought_grid, sold_grid, seqs, paid, got, priorities, *rest = columns
        bid_keys, digests, dispatch = rest
        owners = self._home_key_owners()
        return (
            _all_natural(bought + sold + bought_grid + sold_grid + seqs)
            and _all_int(paid + got + priorities)
            and set(map(type, homes + bid_keys + digests)) == _STR_ONLY
            and "" not in digests
            and list(map(owners.get, bid_keys)) == list(homes)
            and set(map(type, dispatch)) == _LIST_ONLY
        )

    def _home_key_owners(self) -> dict[str, str]:
        """Home key id -> its home, for every enrolled home (kept until a home enrols)."""
        if self._owners_of is None:
            self._owners_of = {
                key_id: key.home_id for key_id, key in self.keys.items() if key.kind == "home"
            }
        return self._owners_of

    def _allocation(self, raw: Entry) -> Allocation:
        home_id = _str(raw, "home_id")
        if home_id not in self.homes:
            raise _fail(errors.UNKNOWN_ACCOUNT, f"allocation for unknown home {home_id}")
        bid_key = self.keys.get(_str(raw, "bid_key_id"))
        if bid_key is None or bid_key.home_id != home_id or bid_key.kind != "home":
            raise _fail(errors.KEY_NOT_YOURS, f"home {home_id}: bid not signed by its home key")
        _str(raw, "bid_digest")
        energies, money = _allocation_energies(raw), _allocation_money(raw)
        if not (_all_natural(energies) and _all_int(money)):
            for name in _ALLOCATION_ENERGIES:
                _int(raw, name)
            for name in _ALLOCATION_SIGNED:
                _int(raw, name, None)
        dispatch = tuple((str(d), str(a), _int({"e": e}, "e")) for d, a, e in raw["dispatch"])
        bought_local, sold_local, bought_grid, sold_grid, _seq = energies
        return Allocation(
            home_id, bought_local, sold_local, bought_grid, sold_grid, money[0], money[1], dispatch
        )

    # -- settlement ---------------------------------------------------------------------------

    def _all_meters(self) -> dict[str, list[tuple[str, str]]]:
        """meters_of for every home (kept until a key changes)."""
        if len(self._meters) != len(self.homes):
            for home_id in self.homes:
                self.meters_of(home_id)
        return self._meters

    def meters_of(self, home_id: str) -> list[tuple[str, str]]:
        """The home's active meters as (key_id, kind), by key id (do not change the list)."""
        meters = self._meters.get(home_id)
        if meters is None:
            home = self.homes.get(home_id)
            if home is None:
                return []
            meters = self._meters[home_id] = [
                (key_id, self.keys[key_id].kind)
                for key_id in home.keys
                if self.keys[key_id].kind != "home" and not self.keys[key_id].revoked
            ]
        return meters

    def settlement_batch(self, interval_start: int) -> list[Entry]:
        """The entries that settle a cleared interval, computed from the state as it is now:
        one `settled_interval` (format 2) or one entry per row (format 1).

        The hub computes a batch and then applies it: applying it reuses the computation made
        here, as long as no entry was applied in between (the state is unchanged)."""
        assert self.params is not None
        settled = self._settled(interval_start)
        if self.params.entry_format == 1:
            return [_copy_entry(entry) for entry in self._format_1_entries(settled)]
        return [_copy_json(settled.table_entry())]  # the caller may change its copy

    def _settled(self, interval_start: int) -> SettledInterval:
        """The interval's settlement as the current state computes it (computed once)."""
        applied, interval, settled = self._computed
        if settled is not None and applied == self.entries_applied and interval == interval_start:
            return settled
        assert self.params is not None
        clearing = self.clearings[interval_start]
        settled = settle_interval(
            clearing, self._all_meters(), self.timelines, self.balances, self.params
        )
        self._computed = (self.entries_applied, interval_start, settled)
        self._computed_entries = []
        return settled

    def _format_1_entries(self, settled: SettledInterval) -> list[Entry]:
        if not self._computed_entries:
            self._computed_entries = settled.entries()
        return self._computed_entries

    def settlement_ready(self, interval_start: int, now_ms: int, deadline_ms: int) -> bool:
        """Every participant's meters have reported past the interval, or the deadline passed."""
        clearing = self.clearings[interval_start]
        end_ms = clearing.interval_end * 1000
        if now_ms >= end_ms + deadline_ms:
            return True
        for alloc in clearing.allocations:
            for key_id, _kind in self.meters_of(alloc.home_id):
                timeline = self.timelines.get(key_id)
                if timeline is None or not timeline.reaches(end_ms):
                    return False
        return True

    def _settlement_entry(self, entry: Entry, where: str) -> None:
        """Format 1: the next entry of an interval's settlement, as recomputed."""
        kind = entry["kind"]
        if kind == kinds.MINT:
            self._check_not_minted(entry["meter_key_id"], entry["interval_start"])
        if self._batch_interval is None:
            if kind != kinds.SETTLEMENT:
                raise _fail(
                    errors.INVALID_ENTRY, f"{kind} entry outside the settlement of its interval"
                )
            interval = entry["interval_start"]
            self._check_settleable(interval)
            batch, position = self._format_1_entries(self._settled(interval)), 0
        else:
            batch, position, interval = self._batch, self._batch_next, self._batch_interval
        expected = batch[position]
        if entry != expected:
            what = f"{expected['kind']} for home {expected.get('home_id')}"
            if entry.get("kind") != expected["kind"] or entry.get("home_id") != expected.get(
                "home_id"
            ):
                raise _fail(
                    errors.INVALID_ENTRY,
                    f"settlement of interval {interval}: expected {what}, "
                    f"found {kind} for home {entry.get('home_id')}",
                )
            raise _fail(
                errors.INVALID_ENTRY,
                f"settlement of interval {interval}: {what}: {first_difference(entry, expected)}",
            )
        self._apply_row(expected["kind"], expected, expected["interval_start"], where)
        self._batch, self._batch_next, self._batch_interval = batch, position + 1, interval
        if position + 1 == len(batch):
            self._batch = []
            self._finish_settlement(interval)

    def _settled_interval(self, entry: Entry, where: str) -> None:
        """Format 2: an interval's whole settlement in one entry, compared with the recomputed
        one in a single step."""
        interval = entry["interval_start"]
        for meter in _mint_meters(entry):
            self._check_not_minted(meter, interval)
        self._check_settleable(interval)
        expected = self._settled(interval)
        expected_entry = expected.table_entry()
        if entry != expected_entry:
            raise _fail(
                errors.INVALID_ENTRY,
                f"settlement of interval {interval}: {table_difference(entry, expected_entry)}",
            )
        self._apply_rows(expected, where)
        self._finish_settlement(interval)

    def _check_not_minted(self, meter: str, interval: int) -> None:
        if (meter, interval) in self.mints:
            raise _fail(
                errors.DOUBLE_MINT,
                f"meter {meter} already minted for interval {interval} "
                f"({self.mints[(meter, interval)]})",
            )

    def _check_settleable(self, interval: Any) -> None:
        if interval in self.settled:
            raise _fail(errors.ALREADY_SETTLED, f"interval {interval} is already settled")
        if interval not in self.clearings:
            raise _fail(errors.INVALID_ENTRY, f"interval {interval} has not been cleared")

    def _apply_rows(self, settled: SettledInterval, where: str) -> None:
        """What a checked interval settlement changes, row by row (columns:
        gridcoop_home.ledger.entries)."""
        start = settled.interval_start
        balances = self.balances
        for row in settled.settlements:
            balances[row[0]] = row[_BALANCE_MMINOR]
        for lot, home_id, meter, meter_kind, green, tokens in settled.mints:
            self._mint(lot, home_id, meter, meter_kind, green, tokens, start, where)
        for home_id, tokens, lots in settled.burns:
            self._burn(home_id, tokens, lots)
        for home_id, _device, _action, tokens in settled.flex_awards:
            self.flex[home_id] = self.flex.get(home_id, 0) + tokens

    def _apply_row(self, kind: str, row: Entry, interval_start: int, where: str) -> None:
        """What one checked format-1 settlement, mint, burn or award entry changes."""
        home_id = row["home_id"]
        if kind == kinds.SETTLEMENT:
            self.balances[home_id] = row["balance_mminor"]
        elif kind == kinds.MINT:
            meter, meter_kind, tokens = row["meter_key_id"], row["meter_kind"], row["tokens"]
            lot = row["lot"]
            self._mint(lot, home_id, meter, meter_kind, row["green"], tokens, interval_start, where)
        elif kind == kinds.BURN:
            self._burn(home_id, row["tokens"], row["lots"])
        else:
            self.flex[home_id] = self.flex.get(home_id, 0) + row["tokens"]

    def _mint(
        self,
        lot: str,
        home_id: str,
        meter: str,
        meter_kind: str,
        green: bool,
        tokens: int,
        interval_start: int,
        where: str,
    ) -> None:
        self.lots[lot] = Lot(home_id, meter, meter_kind, green, interval_start, tokens, tokens)
        self.mints[(meter, interval_start)] = where
        self.utility[home_id] = self.utility.get(home_id, 0) + tokens
        self.minted[home_id] = self.minted.get(home_id, 0) + tokens

    def _burn(self, home_id: str, tokens: int, lots: list[list[Any]]) -> None:
        """The consumer burns units lot by lot and receives their certificates."""
        held = self.certificates.setdefault(home_id, {})
        for lot_name, units in lots:
            lot = self.lots[lot_name]
            lot.unburned -= units
            self.utility[lot.home_id] -= units
            held[lot_name] = held.get(lot_name, 0) + units
        self.burned[home_id] = self.burned.get(home_id, 0) + tokens

    def _finish_settlement(self, interval: int) -> None:
        clearing = self.clearings.pop(interval)
        self.settled.add(interval)
        self._batch_interval = None
        oldest = min(self.clearings, default=clearing.interval_end)
        cutoff = min(oldest, clearing.interval_end) * 1000
        for timeline in self.timelines.values():
            timeline.prune_before(cutoff)

    # -- home transactions ----------------------------------------------------------------------

    def _signer(self, entry: Entry) -> str:
        home_id, key_id = _str(entry, "home_id"), _str(entry, "key_id")
        self._active_home(home_id)
        key = self.keys.get(key_id)
        if key is None or key.home_id != home_id:
            raise _fail(errors.KEY_NOT_YOURS, f"key {key_id} is not a key of home {home_id}")
        if key.kind != "home":
            raise _fail(errors.WRONG_KEY_KIND, "transactions must be signed with the home key")
        if key.revoked:
            raise _fail(errors.REVOKED_KEY, f"key {key_id} is revoked")
        seq, last = _int(entry, "seq"), self.tx_seq.get(key_id)
        if last is not None and seq <= last:
            raise _fail(errors.REPLAY, f"transaction seq {seq} is not above the last one ({last})")
        if not signature_valid(entry, key.public_key):
            raise _fail(
                errors.BAD_SIGNATURE, "the home's signature on this transaction does not verify"
            )
        return home_id

    def _active_home(self, home_id: str) -> HomeInfo:
        home = self.homes.get(home_id)
        if home is None:
            raise _fail(errors.UNKNOWN_ACCOUNT, f"home {home_id} is not enrolled")
        if home.revoked:
            raise _fail(errors.HOME_REVOKED, f"home {home_id} is revoked")
        return home

    def _transfer(self, entry: Entry, where: str) -> None:
        home_id = self._signer(entry)
        units, to, asset = _int(entry, "units", 1), _str(entry, "to"), entry["asset"]
        if to != COMMUNITY:
            self._active_home(to)
        if asset == "flex":
            have = self.flex.get(home_id, 0)
            if have < units:
                raise _fail(
                    errors.INSUFFICIENT_TOKENS,
                    f"home {home_id} holds {have} flexibility tokens, not {units}",
                )
            self.flex[home_id] = have - units
            self.flex[to] = self.flex.get(to, 0) + units
        elif asset == "certificate":
            lot = self._held_lot(home_id, _str(entry, "lot"), units)
            if to == COMMUNITY:
                raise _fail(errors.UNKNOWN_ACCOUNT, "certificates go to a home, not the community")
            self.certificates[home_id][lot] -= units
            theirs = self.certificates.setdefault(to, {})
            theirs[lot] = theirs.get(lot, 0) + units
        else:
            raise _fail(errors.INVALID_ENTRY, f"unknown asset {asset!r}")
        self.tx_seq[entry["key_id"]] = entry["seq"]

    def _held_lot(self, home_id: str, lot: str, units: int) -> str:
        if lot not in self.lots:
            raise _fail(errors.UNKNOWN_CERTIFICATE, f"no certificate lot {lot}")
        held = self.certificates.get(home_id, {}).get(lot, 0)
        if held >= units:
            return lot
        retired_at = self.retired_where.get((home_id, lot))
        if held == 0 and retired_at is not None:
            raise _fail(
                errors.ALREADY_RETIRED,
                f"lot {lot}: home {home_id} already retired its certificates ({retired_at})",
            )
        raise _fail(
            errors.INSUFFICIENT_TOKENS,
            f"home {home_id} holds {held} units of lot {lot}, not {units}",
        )

    def _retire(self, entry: Entry, where: str) -> None:
        home_id = self._signer(entry)
        units = _int(entry, "units", 1)
        lot = self._held_lot(home_id, _str(entry, "lot"), units)
        if not self.lots[lot].green:
            raise _fail(
                errors.NOT_GREEN,
                f"lot {lot} comes from a {self.lots[lot].meter_kind} meter: not green",
            )
        self.certificates[home_id][lot] -= units
        self.retired[lot] = self.retired.get(lot, 0) + units
        self.retired_where[(home_id, lot)] = where
        self.tx_seq[entry["key_id"]] = entry["seq"]

    # -- queries ------------------------------------------------------------------------------

    def validators_at(self, height: int) -> list[Validator]:
        return [v for v in self.validators if v.active_from <= height]

    def flex_priorities(self) -> dict[str, int]:
        return {home: tokens for home, tokens in self.flex.items() if home != COMMUNITY}

    def account(self, home_id: str) -> dict[str, Any]:
        held = self.certificates.get(home_id, {})
        green = sum(u for lot, u in held.items() if self.lots[lot].green)
        balance = self.balances.get(home_id, 0)
        return {
            "home_id": home_id,
            "balance_mminor": balance,
            "balance_minor": balance // 1000,
            "flex_tokens": self.flex.get(home_id, 0),
            "utility_tokens": self.utility.get(home_id, 0),
            "tokens_minted": self.minted.get(home_id, 0),
            "tokens_burned": self.burned.get(home_id, 0),
            "green_certificates": green,
            "other_certificates": sum(held.values()) - green,
            "certificate_lots": {lot: units for lot, units in sorted(held.items()) if units},
        }
