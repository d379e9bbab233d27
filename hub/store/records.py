"""Plain records the store hands out: no SQLAlchemy types leak past the store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gridcoop_home.protocol.allocation import Allocation


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    home_id: str
    kind: str  # home | grid | pv | battery | ev
    name: str
    public_key: str
    created_at: int
    revoked_at: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_wire(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "kind": self.kind,
            "name": self.name,
            "public_key": self.public_key,
            "revoked": self.revoked,
        }


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What never changes about an enrolled key (revocation does, and is not here): safe to
    cache for the life of the process, whatever other workers do."""

    key_id: str
    home_id: str
    kind: str
    public_key: str


@dataclass(frozen=True, slots=True)
class RequestSequence:
    """A signed request's sequence, to be accepted in the same transaction as the request's own
    writes (see Store.accept_request)."""

    key_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class HomeRecord:
    home_id: str
    name: str
    bus: int | None
    created_at: int
    revoked_at: int | None
    keys: tuple[KeyRecord, ...] = field(default=())

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_wire(self) -> dict[str, Any]:
        return {
            "home_id": self.home_id,
            "name": self.name,
            "bus": self.bus,
            "created_at": self.created_at,
            "revoked": self.revoked,
            "keys": [key.to_wire() for key in self.keys],
        }


@dataclass(frozen=True, slots=True)
class StoredBid:
    home_id: str
    interval_start: int
    key_id: str
    seq: int
    ts: int
    body: dict[str, Any]
    digest: str
    sig: str
    received_at: int


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    interval_start: int
    interval_end: int
    cleared_at: int
    late: bool
    price: int | None
    price_low: int | None
    price_high: int | None
    volume_wh: int
    retail_price: int
    feed_in_price: int
    fee_per_kwh: int
    k_percent: int
    welfare_mminor: int
    fees_mminor: int
    grid_import_wh: int
    grid_export_wh: int
    participants: int
    # How it was cleared (see gridcoop_home.protocol.schema.CLEARING_METHODS) and, on a feeder,
    # what the
    # network did; the per-bus details are an IntervalNetwork, stored and served separately.
    method: str = "uniform_price"
    fallback_reason: str | None = None
    congestion_rent_mminor: int = 0
    binding: list[dict[str, Any]] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


# The store keeps the protocol's allocation itself: one type from the clearing to the home
# (gridcoop_home.protocol.allocation); hub.store.clearings maps it to and from its table.
AllocationRecord = Allocation


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    meter_key_id: str
    seq: int
    ts: int
    import_wh: int
    export_wh: int
    digest: str

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One entry of the continuous market's order log: an accepted order (`submit`, with its
    signed message's fields) or a cancellation (`cancel`, those fields None)."""

    event_id: int
    kind: str  # submit | cancel
    interval_start: int
    order_id: str
    home_id: str
    received_at: int
    key_id: str | None = None
    seq: int | None = None
    ts: int | None = None
    body: dict[str, Any] | None = None
    digest: str | None = None
    sig: str | None = None
