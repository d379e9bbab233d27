"""Persistence for the ledger: entries, blocks, signatures, validators and the guard tables.

Shares the hub store's engine and writer lock. The ledger's logic never sees this module: it hands
in plain dicts and canonical JSON text. Besides storing entries, every append writes the guard
rows in the same transaction, so the database itself refuses a second mint for a (meter,
interval), a second settlement of a home's interval, holdings below zero and a reused home
transaction sequence, whatever the process that tries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from gridcoop_home.ledger.entries import SETTLEMENT_FIELDS
from gridcoop_home.ledger.tables import expand
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.errors import ProtocolError
from sqlalchemy import and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.ledger.accounts.recording import ClearedAllocation
from hub.store import schema
from hub.store.clearings import allocation_of
from hub.store.store import Store

# (entry dict, canonical JSON text, leaf hash hex)
EntryRow = tuple[dict[str, Any], str, str]


class LedgerStore:
    def __init__(self, store: Store) -> None:
        # The hub store owns the engine; sharing its writer lock keeps SQLite to one writer.
        self._store = store
        self._engine = store._engine
        self._write_lock = store._write_lock
        self.is_sqlite = store.is_sqlite
        self._registry: tuple[tuple[int, ...], list[dict[str, Any]]] | None = None

    def _read(self) -> Any:
        return self._engine.connect()

    # -- chain -------------------------------------------------------------------------------

    async def head(self) -> dict[str, Any] | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.ledger_blocks)
                    .order_by(schema.ledger_blocks.c.height.desc())
                    .limit(1)
                )
            ).first()
        return row._asdict() if row is not None else None

    async def latest_final(self) -> int | None:
        async with self._read() as conn:
            value = (
                await conn.execute(
                    select(func.max(schema.ledger_blocks.c.height)).where(
                        schema.ledger_blocks.c.final.is_(True)
                    )
                )
            ).scalar()
        return None if value is None else int(value)

    async def block(self, height: int) -> dict[str, Any] | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.ledger_blocks).where(schema.ledger_blocks.c.height == height)
                )
            ).first()
        return row._asdict() if row is not None else None

    async def blocks(self, from_height: int, limit: int) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_blocks)
                .where(schema.ledger_blocks.c.height >= from_height)
                .order_by(schema.ledger_blocks.c.height)
                .limit(limit)
            )
            return [row._asdict() for row in rows]

    async def block_entries(self, height: int) -> list[tuple[str, str]]:
        """(hash, canonical JSON) of a block's entries in block order."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_entries.c.hash, schema.ledger_entries.c.data)
                .where(schema.ledger_entries.c.height == height)
                .order_by(schema.ledger_entries.c.idx)
            )
            return [(row.hash, row.data) for row in rows]

    async def iter_chain(
        self, from_height: int = 0, chunk: int = 200
    ) -> AsyncIterator[tuple[dict[str, Any], list[tuple[str, str]]]]:
        """Every block from `from_height` on with its entries, reading `chunk` blocks at a time."""
        while True:
            blocks = await self.blocks(from_height, chunk)
            if not blocks:
                return
            last = blocks[-1]["height"]
            by_height: dict[int, list[tuple[str, str]]] = {b["height"]: [] for b in blocks}
            async with self._read() as conn:
                result = await conn.stream(
                    select(
                        schema.ledger_entries.c.height,
                        schema.ledger_entries.c.hash,
                        schema.ledger_entries.c.data,
                    )
                    .where(
                        schema.ledger_entries.c.height >= from_height,
                        schema.ledger_entries.c.height <= last,
                    )
                    .order_by(schema.ledger_entries.c.height, schema.ledger_entries.c.idx)
                )
                async for partition in result.partitions(5000):
                    for height, hash_, data in partition:
                        by_height[height].append((hash_, data))
            for block in blocks:
                yield block, by_height[block["height"]]
            from_height = last + 1

    async def pending(self) -> list[tuple[int, str, str]]:
        """(entry id, hash, canonical JSON) of entries not sealed yet, in append order."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(
                    schema.ledger_entries.c.entry_id,
                    schema.ledger_entries.c.hash,
                    schema.ledger_entries.c.data,
                )
                .where(schema.ledger_entries.c.height.is_(None))
                .order_by(schema.ledger_entries.c.entry_id)
            )
            return [(row.entry_id, row.hash, row.data) for row in rows]

    async def append_pending(self, row: EntryRow) -> None:
        """Store an entry that waits for the next block, with its guard rows, all or nothing."""
        async with self._write_lock, self._engine.begin() as conn:
            await self._insert_entries(conn, [row], height=None, first_idx=0)

    async def seal(
        self,
        block: dict[str, Any],
        pending_ids: Sequence[int],
        new_entries: Sequence[EntryRow],
        hub_signature: str,
        meta: dict[str, str],
        reading_ids: Sequence[int] = (),
    ) -> None:
        """Write a sealed block: pending entries get their position, new ones are inserted, and
        the readings it recorded are marked with its height."""
        async with self._write_lock, self._engine.begin() as conn:
            height = block["height"]
            for start in range(0, len(reading_ids), 500):  # stay below bind-parameter limits
                await conn.execute(
                    update(schema.readings)
                    .where(schema.readings.c.reading_id.in_(reading_ids[start : start + 500]))
                    .values(recorded_height=height)
                )
            for idx, entry_id in enumerate(pending_ids):
                await conn.execute(
                    update(schema.ledger_entries)
                    .where(schema.ledger_entries.c.entry_id == entry_id)
                    .values(height=height, idx=idx)
                )
            await self._insert_entries(conn, new_entries, height, len(pending_ids))
            await conn.execute(insert(schema.ledger_blocks).values(block))
            await conn.execute(
                insert(schema.ledger_signatures).values(
                    height=height, validator=0, signature=hub_signature
                )
            )
            for name, value in meta.items():
                await self._set_meta(conn, name, value)

    async def add_signature(
        self,
        height: int,
        validator: int,
        signature: str,
        aggregate: str,
        signers: str,
        signer_count: int,
        final: bool,
    ) -> bool:
        """Record one validator's signature and the new aggregate; False if it had signed."""
        try:
            async with self._write_lock, self._engine.begin() as conn:
                await conn.execute(
                    insert(schema.ledger_signatures).values(
                        height=height, validator=validator, signature=signature
                    )
                )
                await conn.execute(
                    update(schema.ledger_blocks)
                    .where(schema.ledger_blocks.c.height == height)
                    .values(
                        signature=aggregate,
                        signers=signers,
                        signer_count=signer_count,
                        final=final,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def signatures(self, height: int) -> dict[int, str]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_signatures).where(schema.ledger_signatures.c.height == height)
            )
            return {row.validator: row.signature for row in rows}

    async def validators(self) -> list[dict[str, Any]]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_validators).order_by(schema.ledger_validators.c.idx)
            )
            return [row._asdict() for row in rows]

    async def meta(self) -> dict[str, str]:
        async with self._read() as conn:
            rows = await conn.execute(select(schema.ledger_meta))
            return {row.name: row.value for row in rows}

    # -- what the ledger records from the hub's own tables -------------------------------------

    async def registry(self) -> list[dict[str, Any]]:
        """Homes with their keys (ids, kinds, names, public keys, revocation), by home id.

        Read once and kept while a cheap count says nothing changed: homes and keys are never
        deleted and a revocation is never undone, so the numbers of homes, keys and revoked ones
        only grow and any change moves at least one of them. The count is read before the homes,
        so a change racing with the read makes the next call read again."""
        h, k = schema.homes.c, schema.keys.c
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(
                        select(func.count()).select_from(schema.homes).scalar_subquery(),
                        select(func.count(h.revoked_at)).scalar_subquery(),
                        select(func.count()).select_from(schema.keys).scalar_subquery(),
                        select(func.count(k.revoked_at)).scalar_subquery(),
                    )
                )
            ).one()
        fingerprint = tuple(int(value) for value in row)
        if self._registry is not None and self._registry[0] == fingerprint:
            return self._registry[1]
        homes = await self._store.list_homes()
        registry = [
            {
                "home_id": home.home_id,
                "bus": home.bus,
                "revoked": home.revoked,
                "keys": [
                    {
                        "key_id": key.key_id,
                        "kind": key.kind,
                        "name": key.name,
                        "public_key": key.public_key,
                        "revoked": key.revoked,
                    }
                    for key in sorted(home.keys, key=lambda key: key.key_id)
                ],
            }
            for home in sorted(homes, key=lambda home: home.home_id)
        ]
        self._registry = (fingerprint, registry)
        return registry

    async def unrecorded_readings(self, limit: int) -> list[tuple[Any, ...]]:
        """(reading_id, home_id, key_id, seq, ts, import_wh, export_wh, sig) of readings no block
        has recorded yet, in id order.

        Not a cursor over ids: with several writers a lower id can commit after a higher one was
        recorded, and a cursor would skip it. A meter's own readings never commit out of order
        (ingest locks the meter's row), so each meter's readings still arrive in sequence."""
        r = schema.readings.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(
                    r.reading_id,
                    r.home_id,
                    r.meter_key_id,
                    r.seq,
                    r.ts,
                    r.import_wh,
                    r.export_wh,
                    r.sig,
                )
                .where(r.recorded_height.is_(None))
                .order_by(r.reading_id)
                .limit(limit)
            )
            return [tuple(row) for row in rows]

    async def cleared_after(self, interval_start: int, up_to: int) -> list[dict[str, Any]]:
        """Intervals cleared after `interval_start` up to `up_to`, each with its allocations and
        the key and sequence of the bid each one answers (a list of ClearedAllocation)."""
        iv, al, bids = schema.intervals.c, schema.allocations.c, schema.bids.c
        async with self._read() as conn:
            intervals = (
                await conn.execute(
                    select(schema.intervals)
                    .where(iv.interval_start > interval_start, iv.interval_start <= up_to)
                    .order_by(iv.interval_start)
                )
            ).all()
            if not intervals:
                return []
            result = {
                interval.interval_start: {**interval._asdict(), "allocations": []}
                for interval in intervals
            }
            rows = await conn.execute(
                select(
                    schema.allocations, bids.key_id.label("bid_key_id"), bids.seq.label("bid_seq")
                )
                .join(
                    schema.bids,
                    and_(
                        bids.home_id == al.home_id,
                        bids.interval_start == al.interval_start,
                    ),
                )
                .where(
                    al.interval_start >= intervals[0].interval_start,
                    al.interval_start <= intervals[-1].interval_start,
                )
                .order_by(al.interval_start, al.home_id)
            )
            for row in rows:
                result[row.interval_start]["allocations"].append(
                    ClearedAllocation(allocation_of(row), row.bid_key_id, row.bid_seq)
                )
            return list(result.values())

    # -- reads for the API -------------------------------------------------------------------

    async def settlement_entries(self, home_id: str, limit: int) -> list[dict[str, Any]]:
        """The entries that hold a home's latest settlements (either format), newest first."""
        e, s = schema.ledger_entries.c, schema.ledger_settlements.c
        query = (
            select(e.height, e.idx, e.hash, e.data)
            .join_from(schema.ledger_settlements, schema.ledger_entries, e.hash == s.entry_hash)
            .where(s.home_id == home_id)
            .order_by(s.interval_start.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [row._asdict() for row in await conn.execute(query)]

    async def find_entry(self, entry_hash: str) -> dict[str, Any] | None:
        e = schema.ledger_entries.c
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(e.height, e.idx, e.hash, e.data).where(e.hash == entry_hash)
                )
            ).first()
        return row._asdict() if row is not None else None

    async def leaf_hashes(self, height: int) -> list[str]:
        return [hash_ for hash_, _data in await self.block_entries(height)]

    async def settlements(self, home_id: str, start: int, end: int) -> list[dict[str, Any]]:
        """A home's settlement rows for intervals in [start, end), oldest first."""
        s = schema.ledger_settlements.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_settlements)
                .where(s.home_id == home_id, s.interval_start >= start, s.interval_start < end)
                .order_by(s.interval_start)
            )
            return [row._asdict() for row in rows]

    async def balance_before(self, home_id: str, interval_start: int) -> int:
        """The home's milli-minor balance after its last settlement before `interval_start`."""
        s = schema.ledger_settlements.c
        async with self._read() as conn:
            value = (
                await conn.execute(
                    select(s.balance_mminor)
                    .where(s.home_id == home_id, s.interval_start < interval_start)
                    .order_by(s.interval_start.desc())
                    .limit(1)
                )
            ).scalar()
        return int(value or 0)

    async def retirements(self, limit: int) -> list[dict[str, Any]]:
        r = schema.ledger_retirements.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_retirements).order_by(r.ts.desc()).limit(limit)
            )
            return [row._asdict() for row in rows]

    async def holdings(self, account: str) -> list[dict[str, Any]]:
        h = schema.ledger_holdings.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_holdings).where(h.account == account).order_by(h.asset, h.lot)
            )
            return [row._asdict() for row in rows]

    # -- equivocation proofs (evidence against the hub: added, never deleted) -------------------

    async def add_equivocation(self, row: dict[str, Any]) -> bool:
        """Keep a checked proof (a `ledger_equivocations` row); False when it is already kept."""
        try:
            async with self._write_lock, self._engine.begin() as conn:
                await conn.execute(insert(schema.ledger_equivocations).values(row))
        except IntegrityError:
            return False
        return True

    async def equivocations(self) -> list[dict[str, Any]]:
        """Every proof kept, lowest height first, the proof itself decoded."""
        q = schema.ledger_equivocations.c
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.ledger_equivocations).order_by(q.height, q.received_at, q.proof_id)
            )
            return [{**row._asdict(), "proof": json.loads(row.proof)} for row in rows]

    # -- writing entries and guards --------------------------------------------------------------

    async def _insert_entries(
        self, conn: AsyncConnection, rows: Sequence[EntryRow], height: int | None, first_idx: int
    ) -> None:
        if not rows:
            return
        try:
            await conn.execute(
                insert(schema.ledger_entries),
                [
                    {
                        "height": height,
                        "idx": None if height is None else first_idx + n,
                        "kind": entry["kind"],
                        "home_id": entry.get("home_id")
                        if isinstance(entry.get("home_id"), str)
                        else None,
                        "interval_start": entry.get("interval_start")
                        if isinstance(entry.get("interval_start"), int)
                        else None,
                        "hash": hash_,
                        "data": data,
                    }
                    for n, (entry, data, hash_) in enumerate(rows)
                ],
            )
        except IntegrityError as err:
            raise ProtocolError(errors.REPLAY, "this entry is already in the ledger") from err
        await _write_guards(conn, rows)

    @staticmethod
    async def _set_meta(conn: AsyncConnection, name: str, value: str) -> None:
        done = await conn.execute(
            update(schema.ledger_meta).where(schema.ledger_meta.c.name == name).values(value=value)
        )
        if done.rowcount == 0:
            await conn.execute(insert(schema.ledger_meta).values(name=name, value=value))


async def _write_guards(conn: AsyncConnection, rows: Iterable[EntryRow]) -> None:
    mints, settlements = [], []
    credits: dict[tuple[str, str, str], int] = {}  # holdings added, written in two batches
    for entry, hash_ in _expanded(rows):
        kind = entry["kind"]
        if kind == "mint":
            mints.append(
                {
                    "meter_key_id": entry["meter_key_id"],
                    "interval_start": entry["interval_start"],
                    "lot": entry["lot"],
                    "home_id": entry["home_id"],
                    "tokens": entry["tokens"],
                    "green": entry["green"],
                }
            )
        elif kind == "settlement":
            settlements.append(_settlement_row(entry, hash_))
        elif kind == "burn":
            for lot, units in entry["lots"]:
                key = (entry["home_id"], "certificate", lot)
                credits[key] = credits.get(key, 0) + units
        elif kind == "flex_award":
            key = (entry["home_id"], "flex", "")
            credits[key] = credits.get(key, 0) + entry["tokens"]
        elif kind in ("transfer", "retire"):
            await _credit_all(conn, credits)  # what this entry spends may come from them
            credits = {}
            await _home_transaction(conn, entry, hash_)
        elif kind in ("genesis", "validator"):
            await _validator(conn, entry)
    await _credit_all(conn, credits)
    if mints:
        try:
            await conn.execute(insert(schema.ledger_mints), mints)
        except IntegrityError as err:
            raise ProtocolError(
                errors.DOUBLE_MINT,
                "the database already holds a mint for one of these (meter, interval)",
            ) from err
    if settlements:
        try:
            await conn.execute(insert(schema.ledger_settlements), settlements)
        except IntegrityError as err:
            raise ProtocolError(
                errors.ALREADY_SETTLED, "the database already holds one of these settlements"
            ) from err


def _expanded(rows: Iterable[EntryRow]) -> Iterator[tuple[dict[str, Any], str]]:
    """(entry, hash) with each format-2 settlement table as the format-1 entries it stands for,
    all under the table's hash (the entry a home's inclusion proof points at)."""
    for entry, _data, hash_ in rows:
        for part in expand(entry):
            yield part, hash_


# ledger_settlements' columns: a settlement's fields but its boundary registers, and its interval
_SETTLEMENT_COLUMNS = (
    "interval_start",
    *(name for name in SETTLEMENT_FIELDS if name not in ("start", "end")),
)


def _settlement_row(entry: dict[str, Any], hash_: str) -> dict[str, Any]:
    return {**{name: entry[name] for name in _SETTLEMENT_COLUMNS}, "entry_hash": hash_}


async def _credit_all(conn: AsyncConnection, credits: dict[tuple[str, str, str], int]) -> None:
    """Add units to many holdings: one batched UPDATE for existing rows, one INSERT for new."""
    if not credits:
        return
    h = schema.ledger_holdings.c
    keys = list(credits)
    existing: set[tuple[str, str, str]] = set()
    for start in range(0, len(keys), 300):  # stay below bind-parameter limits
        rows = await conn.execute(
            select(h.account, h.asset, h.lot).where(
                tuple_(h.account, h.asset, h.lot).in_(keys[start : start + 300])
            )
        )
        existing.update((row.account, row.asset, row.lot) for row in rows)
    updates = [
        {"a": a, "s": s, "l": lot, "u": credits[(a, s, lot)]}
        for a, s, lot in keys
        if (a, s, lot) in existing
    ]
    if updates:
        await conn.execute(
            update(schema.ledger_holdings)
            .where(h.account == bindparam("a"), h.asset == bindparam("s"), h.lot == bindparam("l"))
            .values(units=h.units + bindparam("u")),
            updates,
        )
    inserts = [
        {"account": a, "asset": s, "lot": lot, "units": credits[(a, s, lot)]}
        for a, s, lot in keys
        if (a, s, lot) not in existing
    ]
    if inserts:
        await conn.execute(insert(schema.ledger_holdings), inserts)


async def _add_units(conn: AsyncConnection, account: str, asset: str, lot: str, units: int) -> None:
    h = schema.ledger_holdings.c
    where = and_(h.account == account, h.asset == asset, h.lot == lot)
    done = await conn.execute(
        update(schema.ledger_holdings).where(where).values(units=h.units + units)
    )
    if done.rowcount == 0:
        await conn.execute(
            insert(schema.ledger_holdings).values(
                account=account, asset=asset, lot=lot, units=units
            )
        )


async def _take_units(
    conn: AsyncConnection, account: str, asset: str, lot: str, units: int
) -> None:
    h = schema.ledger_holdings.c
    done = await conn.execute(
        update(schema.ledger_holdings)
        .where(h.account == account, h.asset == asset, h.lot == lot, h.units >= units)
        .values(units=h.units - units)
    )
    if done.rowcount != 1:
        raise ProtocolError(
            errors.INSUFFICIENT_TOKENS,
            f"the database holds fewer than {units} {asset} units of {lot or 'flex'} for {account}",
        )


async def _home_transaction(conn: AsyncConnection, entry: dict[str, Any], hash_: str) -> None:
    try:
        await conn.execute(
            insert(schema.ledger_transactions).values(
                key_id=entry["key_id"], seq=entry["seq"], entry_hash=hash_
            )
        )
    except IntegrityError as err:
        raise ProtocolError(
            errors.REPLAY, f"transaction seq {entry['seq']} was already used"
        ) from err
    home, units = entry["home_id"], entry["units"]
    if entry["kind"] == "retire":
        await _take_units(conn, home, "certificate", entry["lot"], units)
        await conn.execute(
            insert(schema.ledger_retirements).values(
                entry_hash=hash_,
                home_id=home,
                lot=entry["lot"],
                units=units,
                purpose=entry["purpose"],
                ts=entry["ts"],
            )
        )
        return
    asset, lot = entry["asset"], entry["lot"] or ""
    await _take_units(conn, home, asset, lot, units)
    await _add_units(conn, entry["to"], asset, lot, units)


async def _validator(conn: AsyncConnection, entry: dict[str, Any]) -> None:
    data = entry["validator"] if entry["kind"] == "genesis" else entry
    try:
        await conn.execute(
            insert(schema.ledger_validators).values(
                idx=0 if entry["kind"] == "genesis" else data["index"],
                name=data["name"],
                public_key=data["public_key"],
                pop=data["pop"],
                home_id=None if entry["kind"] == "genesis" else data["home_id"],
                active_from=0 if entry["kind"] == "genesis" else data["active_from"],
            )
        )
    except IntegrityError as err:
        raise ProtocolError(
            errors.DUPLICATE_VALIDATOR, "this validator is already registered"
        ) from err


async def all_holdings(ledger: LedgerStore) -> list[dict[str, Any]]:
    """Every holdings row (the audit compares them with what the entries add up to)."""
    async with ledger._read() as conn:
        rows = await conn.execute(select(schema.ledger_holdings))
        return [row._asdict() for row in rows]
