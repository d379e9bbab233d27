"""Frozen copy of the first released store schema (version 1), as shipped in cf44958.

Migration tests build a real v1 database from this and upgrade it; never edit it to follow
hub/store/schema.py -- that would stop the test from checking the migrations.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    UniqueConstraint("meter_key_id", "seq", name="uq_reading_meter_seq"),
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
)
