"""What the ledger's state is made of: the records its rule modules share, and the state's
fields (`StateData`), which `LedgerState` sets up and each rule module reads and changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gridcoop_home.ledger.bls import BlsBackend
from gridcoop_home.ledger.entries import Entry
from gridcoop_home.ledger.tables import SettledInterval

from hub.ledger.accounts.meters import MeterTimeline
from hub.ledger.accounts.params import LedgerParams
from hub.ledger.accounts.settlement import Clearing


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


class StateData:
    """The fields of the ledger's state (set up by `LedgerState.__init__`)."""

    backend: BlsBackend
    check_meter_signatures: bool
    # The blocks (by height) whose readings are checked here; the others' are added unchecked,
    # for an audit that checks them in another process.
    check_readings: Callable[[int], bool]
    params: LedgerParams | None
    height: int  # the block the next entries belong to
    entries_applied: int
    validators: list[Validator]
    homes: dict[str, HomeInfo]
    keys: dict[str, KeyInfo]
    timelines: dict[str, MeterTimeline]
    clearings: dict[int, Clearing]  # cleared, not yet settled
    cleared: dict[int, str]  # interval -> where it was cleared
    settled: set[int]
    balances: dict[str, int]  # milli-minor units; positive = the coop owes the home
    flex: dict[str, int]
    utility: dict[str, int]  # utility tokens held (minted, not yet burned)
    minted: dict[str, int]
    burned: dict[str, int]
    lots: dict[str, Lot]
    certificates: dict[str, dict[str, int]]  # home -> lot -> units held
    retired: dict[str, int]  # lot -> units retired
    retired_where: dict[tuple[str, str], str]
    mints: dict[tuple[str, int], str]  # (meter, interval) -> where it was minted
    tx_seq: dict[str, int]
    _meters: dict[str, list[tuple[str, str]]]  # meters_of, until a key changes
    _owners_of: dict[str, str] | None  # home key owners, until a home enrols
    _batch: list[Entry]  # the format-1 settlement being applied, entry by entry
    _batch_next: int  # index in _batch of the entry expected next
    _batch_interval: int | None
    _computed: tuple[int, int, SettledInterval | None]  # the settlement computed last
    _computed_entries: list[Entry]  # format 1: the entries of _computed
