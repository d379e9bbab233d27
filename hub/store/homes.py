"""Homes and their keys: join codes, enrolment, revocation, request sequences."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from functools import partial
from typing import Any

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.enrolment import Enrolment
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import key_id_of
from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store import schema
from hub.store.engine import Database
from hub.store.records import HomeRecord, KeyIdentity, KeyRecord, RequestSequence
from hub.store.sequences import RequestRefused, accept_request, revocation

JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: codes get read aloud


def hash_join_code(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_join_code() -> str:
    raw = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


class HomeRepository(Database):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        # key id -> its immutable facts; only enrolled keys get in, so it stays bounded. Filled
        # whole on first use and by each enrolment here, so that no request of a home enrolled
        # before (or through) this process waits for a lookup of its keys: those lookups doubled
        # the hub's CPU in the first seconds of load, when every home's first request came in
        # (bench/bench_load.py).
        self._identities: dict[str, KeyIdentity] = {}
        self._identities_loaded = False

    async def create_join_code(self, name: str, bus: int | None, now_ms: int, ttl_ms: int) -> str:
        code = new_join_code()
        async with self._write() as conn:
            await conn.execute(
                insert(schema.join_codes).values(
                    code_hash=hash_join_code(code),
                    name=name,
                    bus=bus,
                    created_at=now_ms,
                    expires_at=now_ms + ttl_ms,
                )
            )
        return code

    async def enrol(self, enrolment: Enrolment, now_ms: int) -> HomeRecord:
        """Consume the join code and whitelist the home's keys, all or nothing."""
        async with self._write() as conn:
            code = (
                await conn.execute(
                    select(schema.join_codes).where(
                        schema.join_codes.c.code_hash == hash_join_code(enrolment.join_code)
                    )
                )
            ).first()
            _check_join_code(code, now_ms)
            assert code is not None
            home_id = secrets.token_hex(8)
            used = await conn.execute(
                update(schema.join_codes)
                .where(
                    schema.join_codes.c.code_hash == code.code_hash,
                    schema.join_codes.c.used_at.is_(None),
                )
                .values(used_at=now_ms, home_id=home_id)
            )
            if used.rowcount != 1:  # someone else used it between our read and write
                raise ProtocolError(errors.USED_JOIN_CODE, "this join code has already been used")
            await conn.execute(
                insert(schema.homes).values(
                    home_id=home_id, name=code.name, bus=code.bus, created_at=now_ms
                )
            )
            key_rows = [
                {"name": "home", "kind": "home", "public_key": enrolment.home_key},
                *(
                    {"name": m.name, "kind": m.kind, "public_key": m.public_key}
                    for m in enrolment.meters
                ),
            ]
            try:
                await conn.execute(
                    insert(schema.keys),
                    [
                        {
                            **row,
                            "key_id": key_id_of(row["public_key"]),
                            "home_id": home_id,
                            "created_at": now_ms,
                        }
                        for row in key_rows
                    ],
                )
            except IntegrityError as err:
                raise ProtocolError(
                    errors.DUPLICATE_KEY, "one of these keys is already enrolled"
                ) from err
        home = await self.get_home(home_id)
        assert home is not None
        for key in home.keys:  # committed: the home's first requests find its keys at once
            self._identities[key.key_id] = KeyIdentity(
                key.key_id, home_id, key.kind, key.public_key
            )
        return home

    async def get_home(self, home_id: str) -> HomeRecord | None:
        homes = await self.list_homes(home_id)
        return homes[0] if homes else None

    async def list_homes(self, home_id: str | None = None) -> list[HomeRecord]:
        async with self._read() as conn:
            query = select(schema.homes).order_by(schema.homes.c.created_at)
            key_query = select(schema.keys).order_by(schema.keys.c.created_at, schema.keys.c.name)
            if home_id is not None:
                query = query.where(schema.homes.c.home_id == home_id)
                key_query = key_query.where(schema.keys.c.home_id == home_id)
            home_rows = (await conn.execute(query)).all()
            key_rows = (await conn.execute(key_query)).all()
        keys_by_home: dict[str, list[KeyRecord]] = {}
        for row in key_rows:
            keys_by_home.setdefault(row.home_id, []).append(_key_record(row))
        return [
            HomeRecord(
                home_id=row.home_id,
                name=row.name,
                bus=row.bus,
                created_at=row.created_at,
                revoked_at=row.revoked_at,
                keys=tuple(keys_by_home.get(row.home_id, [])),
            )
            for row in home_rows
        ]

    async def home_buses(self) -> dict[str, int]:
        """home_id -> bus of every home given a bus at invite (revoked ones included)."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.homes.c.home_id, schema.homes.c.bus).where(
                    schema.homes.c.bus.is_not(None)
                )
            )
            return {row.home_id: int(row.bus) for row in rows}

    async def revoke_home(self, home_id: str, now_ms: int) -> bool:
        """Revoke a home and every key it holds. Returns False for an unknown home."""
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.homes)
                .where(schema.homes.c.home_id == home_id, schema.homes.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            await conn.execute(
                update(schema.keys)
                .where(schema.keys.c.home_id == home_id, schema.keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            return result.rowcount == 1

    async def revoke_key(self, key_id: str, now_ms: int) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.keys)
                .where(schema.keys.c.key_id == key_id, schema.keys.c.revoked_at.is_(None))
                .values(revoked_at=now_ms)
            )
            return result.rowcount == 1

    async def get_key(self, key_id: str) -> KeyRecord | None:
        async with self._read() as conn:
            row = (
                await conn.execute(select(schema.keys).where(schema.keys.c.key_id == key_id))
            ).first()
        return _key_record(row) if row is not None else None

    async def public_keys(self, key_ids: Iterable[str]) -> dict[str, str]:
        identities = await self.key_identities(key_ids)
        return {key_id: identity.public_key for key_id, identity in identities.items()}

    async def key_identities(self, key_ids: Iterable[str]) -> dict[str, KeyIdentity]:
        """The enrolled keys among `key_ids`. Cached: a key's home, kind and public key never
        change and keys are never deleted, so no other worker can make an entry stale. The first
        lookup that misses loads every enrolled key in one query."""
        wanted = set(key_ids)
        missing = {key_id for key_id in wanted if key_id not in self._identities}
        if missing:
            k = schema.keys.c
            query = select(k.key_id, k.home_id, k.kind, k.public_key)
            if self._identities_loaded:  # a key enrolled since, through another process
                query = query.where(k.key_id.in_(missing))
            async with self._read() as conn:
                rows = await conn.execute(query)
                for row in rows:
                    self._identities[row.key_id] = KeyIdentity(
                        row.key_id, row.home_id, row.kind, row.public_key
                    )
            self._identities_loaded = True
        return {key_id: self._identities[key_id] for key_id in wanted if key_id in self._identities}

    async def accept_request(self, request: RequestSequence) -> None:
        """Accept a signed request's sequence on its own; raises `home_revoked`, `revoked_key`
        or `replay` (the routes that write pass it to that write instead: one transaction)."""
        await self._hot_write(partial(accept_request, request=request))

    async def revocation(self, key_id: str) -> RequestRefused | None:
        """`home_revoked` or `revoked_key` when that is what the key's requests are refused for
        now (`unknown_key` for a key that is not enrolled); None for a key in good standing."""
        async with self._read() as conn:
            return await conn.run_sync(revocation, key_id)

    async def accept_sequence(self, key_id: str, seq: int, scope: str) -> bool:
        """Atomically move a key's last sequence forward; False means a replay."""
        column = schema.keys.c[f"last_{scope}_seq"]
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.keys)
                .where(
                    schema.keys.c.key_id == key_id,
                    or_(column.is_(None), column < seq),
                )
                .values({column: seq})
            )
            return result.rowcount == 1


def _check_join_code(code: Row[Any] | None, now_ms: int) -> None:
    if code is None:
        raise ProtocolError(errors.UNKNOWN_JOIN_CODE, "this join code is not known to the hub")
    if code.used_at is not None:
        raise ProtocolError(errors.USED_JOIN_CODE, "this join code has already been used")
    if code.expires_at <= now_ms:
        raise ProtocolError(
            errors.EXPIRED_JOIN_CODE, "this join code has expired; ask for a new one"
        )


def _key_record(row: Row[Any]) -> KeyRecord:
    return KeyRecord(
        key_id=row.key_id,
        home_id=row.home_id,
        kind=row.kind,
        name=row.name,
        public_key=row.public_key,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
