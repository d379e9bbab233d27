"""Table definitions (SQLAlchemy Core). Times are UTC milliseconds since the epoch, energy in Wh,
money in milli-minor units; intervals are identified by their start in UTC seconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

homes = Table(
    "homes",
    metadata,
    Column("home_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("bus", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

keys = Table(
    "keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("home_id", String(32), ForeignKey("homes.home_id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # home | grid | pv | battery | ev
    Column("name", String(64), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    # Replay protection: the last accepted sequence per scope (signed requests, signed messages).
    Column("last_request_seq", BigInteger, nullable=True),
    Column("last_message_seq", BigInteger, nullable=True),
    # Meter state after the last accepted reading.
    Column("last_reading_ts", BigInteger, nullable=True),
    Column("last_import_wh", BigInteger, nullable=True),
    Column("last_export_wh", BigInteger, nullable=True),
)

join_codes = Table(
    "join_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),  # never store the code itself
    Column("name", String(200), nullable=False),
    Column("bus", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("home_id", String(32), nullable=True),
)

readings = Table(
    "readings",
    metadata,
    Column("reading_id", AutoId, primary_key=True, autoincrement=True),
    Column("meter_key_id", String(32), ForeignKey("keys.key_id"), nullable=False),
    Column("home_id", String(32), nullable=False, index=True),
    Column("seq", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("import_wh", BigInteger, nullable=False),
    Column("export_wh", BigInteger, nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("sig", String(100), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    # The ledger block that recorded the reading (migration 5); NULL until one does. A flag, not
    # a cursor over reading ids: with several writers ids can commit out of order.
    Column("recorded_height", BigInteger, nullable=True),
    UniqueConstraint("meter_key_id", "seq", name="uq_reading_meter_seq"),
)
unrecorded_readings_index = Index(
    "ix_readings_unrecorded",
    readings.c.reading_id,
    sqlite_where=readings.c.recorded_height.is_(None),
    postgresql_where=readings.c.recorded_height.is_(None),
)

bids = Table(
    "bids",
    metadata,
    Column("home_id", String(32), ForeignKey("homes.home_id"), primary_key=True),
    Column("interval_start", BigInteger, primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # canonical JSON of the bid body
    Column("digest", String(64), nullable=False),
    Column("sig", String(100), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_bids_interval", "interval_start"),
)

intervals = Table(
    "intervals",
    metadata,
    Column("interval_start", BigInteger, primary_key=True),  # primary key = cleared exactly once
    Column("interval_end", BigInteger, nullable=False),
    Column("cleared_at", BigInteger, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("price", Integer, nullable=True),
    Column("price_low", Integer, nullable=True),
    Column("price_high", Integer, nullable=True),
    Column("volume_wh", BigInteger, nullable=False),
    Column("retail_price", Integer, nullable=False),
    Column("feed_in_price", Integer, nullable=False),
    Column("fee_per_kwh", Integer, nullable=False),
    Column("k_percent", Integer, nullable=False),
    Column("welfare_mminor", BigInteger, nullable=False),
    Column("fees_mminor", BigInteger, nullable=False),
    Column("grid_import_wh", BigInteger, nullable=False),
    Column("grid_export_wh", BigInteger, nullable=False),
    Column("participants", Integer, nullable=False),
    # Market modes (migration 4): how the interval was cleared and what the feeder did.
    Column("method", String(16), nullable=False, server_default="uniform_price"),
    Column("fallback_reason", Text, nullable=True),
    Column("congestion_rent_mminor", BigInteger, nullable=False, server_default="0"),
    Column("binding", Text, nullable=False, server_default="[]"),  # JSON list of limits
    Column("network", Text, nullable=True),  # JSON IntervalNetwork (nodal prices...), or NULL
)

allocations = Table(
    "allocations",
    metadata,
    Column(
        "interval_start",
        BigInteger,
        ForeignKey("intervals.interval_start"),
        primary_key=True,
    ),
    Column("home_id", String(32), primary_key=True),
    Column("bought_local_wh", BigInteger, nullable=False),
    Column("sold_local_wh", BigInteger, nullable=False),
    Column("bought_grid_wh", BigInteger, nullable=False),
    Column("sold_grid_wh", BigInteger, nullable=False),
    Column("paid_mminor", BigInteger, nullable=False),
    Column("received_mminor", BigInteger, nullable=False),
    Column("fees_mminor", BigInteger, nullable=False),
    Column("bid_digest", String(64), nullable=False),
    Column("dispatch", Text, nullable=False),  # canonical JSON list of dispatch commands
    Column("curtailed_buy_wh", BigInteger, nullable=False, server_default="0"),  # migration 4
    Column("curtailed_sell_wh", BigInteger, nullable=False, server_default="0"),
    Column("grid_limit", Text, nullable=True),  # migration 7: JSON GridLimit, NULL: none
)

# Continuous mode (migration 4): every accepted order and every cancellation, in arrival order.
# The order books are deterministic, so replaying an interval's events rebuilds its book exactly.
order_events = Table(
    "order_events",
    metadata,
    Column("event_id", AutoId, primary_key=True, autoincrement=True),  # arrival order
    Column("interval_start", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # submit | cancel
    Column("order_id", String(100), nullable=False),  # <home_id>:<client_order_id>
    Column("home_id", String(32), ForeignKey("homes.home_id"), nullable=False),
    # The signed "order" message of a submit (NULL for a cancel, which is a signed request).
    Column("key_id", String(32), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("ts", BigInteger, nullable=True),
    Column("body", Text, nullable=True),  # canonical JSON of the order body
    Column("digest", String(64), nullable=True),
    Column("sig", String(100), nullable=True),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("order_id", "kind", name="uq_order_events_order_kind"),
    Index("ix_order_events_interval", "interval_start", "event_id"),
)

# Outbox for WebSocket pushes with several workers (migration 5): the leader writes each message
# here and NOTIFYs; every worker reads the new rows and pushes them to its own subscribers.
hub_events = Table(
    "hub_events",
    metadata,
    Column("event_id", AutoId, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("home_id", String(32), nullable=True),  # NULL: public news for every subscriber
    Column("message", Text, nullable=False),  # JSON
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", BigInteger, nullable=False),
)

# -- ledger (hub.ledger; see docs/ledger.md) -----------------------------------------------------
# Entries are the truth; the other ledger tables are indexes and guards the database enforces
# (a meter mints once per interval, a home settles once per interval, holdings never go below
# zero, a home transaction's sequence is used once).

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("entry_id", AutoId, primary_key=True, autoincrement=True),
    Column("height", BigInteger, nullable=True),  # NULL while pending (not sealed yet)
    Column("idx", Integer, nullable=True),  # position in its block
    Column("kind", String(16), nullable=False),
    Column("home_id", String(32), nullable=True),
    Column("interval_start", BigInteger, nullable=True),
    Column("hash", String(64), nullable=False, unique=True),  # Merkle leaf hash of `data`
    Column("data", Text, nullable=False),  # the canonical JSON bytes that were hashed
    UniqueConstraint("height", "idx", name="uq_ledger_entry_position"),
    Index("ix_ledger_entries_home", "home_id", "kind"),
)

ledger_blocks = Table(
    "ledger_blocks",
    metadata,
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("block_hash", String(64), nullable=False, unique=True),
    Column("prev_hash", String(64), nullable=False),
    Column("merkle_root", String(64), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("entry_count", Integer, nullable=False),
    Column("interval_start", BigInteger, nullable=True),
    Column("signers", Text, nullable=False),  # hex bitmap, bit i = validator i signed
    Column("signature", Text, nullable=True),  # hex aggregate BLS signature
    Column("signer_count", Integer, nullable=False),
    Column("final", Boolean, nullable=False),
)

ledger_signatures = Table(
    "ledger_signatures",
    metadata,
    Column("height", BigInteger, ForeignKey("ledger_blocks.height"), primary_key=True),
    Column("validator", Integer, primary_key=True, autoincrement=False),
    Column("signature", Text, nullable=False),
)

ledger_validators = Table(
    "ledger_validators",
    metadata,
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False),
    Column("public_key", String(96), nullable=False, unique=True),
    Column("pop", String(192), nullable=False),
    Column("home_id", String(32), nullable=True, unique=True),
    Column("active_from", BigInteger, nullable=False),
)

ledger_mints = Table(
    "ledger_mints",
    metadata,
    Column("meter_key_id", String(32), primary_key=True),
    Column("interval_start", BigInteger, primary_key=True),
    Column("lot", String(64), nullable=False, unique=True),
    Column("home_id", String(32), nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("green", Boolean, nullable=False),
)

ledger_settlements = Table(
    "ledger_settlements",
    metadata,
    Column("home_id", String(32), primary_key=True),
    Column("interval_start", BigInteger, primary_key=True),
    Column("metered", Boolean, nullable=False),
    Column("taken_wh", BigInteger, nullable=False),
    Column("delivered_wh", BigInteger, nullable=False),
    Column("allocated_in_wh", BigInteger, nullable=False),
    Column("allocated_out_wh", BigInteger, nullable=False),
    Column("market_mminor", BigInteger, nullable=False),
    Column("imbalance_wh", BigInteger, nullable=False),
    Column("imbalance_mminor", BigInteger, nullable=False),
    Column("amount_mminor", BigInteger, nullable=False),
    Column("balance_mminor", BigInteger, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("balance_minor", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

ledger_holdings = Table(
    "ledger_holdings",
    metadata,
    Column("account", String(32), primary_key=True),  # a home id or "community"
    Column("asset", String(16), primary_key=True),  # flex | certificate
    Column("lot", String(64), primary_key=True),  # "" for flexibility tokens
    Column("units", BigInteger, nullable=False),
    CheckConstraint("units >= 0", name="ck_ledger_holdings_units"),
)

ledger_retirements = Table(
    "ledger_retirements",
    metadata,
    Column("entry_hash", String(64), primary_key=True),
    Column("home_id", String(32), nullable=False, index=True),
    Column("lot", String(64), nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("ts", BigInteger, nullable=False),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("entry_hash", String(64), nullable=False),
)

ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

# Proofs that the hub signed two different blocks at one height (hub.ledger: witnesses report
# them; docs/ledger.md#verify-and-witness). Evidence against the operator: no API deletes a row.
ledger_equivocations = Table(
    "ledger_equivocations",
    metadata,
    Column("proof_id", String(64), primary_key=True),  # the same for both orders of the headers
    Column("height", BigInteger, nullable=False),
    Column("first_hash", String(64), nullable=False),
    Column("second_hash", String(64), nullable=False),
    Column("reporter", String(200), nullable=False),
    Column("proof", Text, nullable=False),  # gridcoop_home.ledger.heads.Equivocation, JSON
    Column("received_at", BigInteger, nullable=False),
)

LEDGER_TABLES = (
    ledger_entries,
    ledger_blocks,
    ledger_signatures,
    ledger_validators,
    ledger_mints,
    ledger_settlements,
    ledger_holdings,
    ledger_retirements,
    ledger_transactions,
    ledger_meta,
)
