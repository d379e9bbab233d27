"""Meter readings: a batch judged and stored in one transaction, and read back."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.reading_rules import (
    ACCEPTED,
    MeterState,
    ReadingWindow,
    Verdict,
    judge_batch,
)
from sqlalchemy import Connection, bindparam, func, insert, select, update

from hub.store import schema
from hub.store.engine import Database
from hub.store.records import ReadingRecord, RequestSequence
from hub.store.sequences import accept_request

_keys = schema.keys.c
_METER_STATES = select(schema.keys).where(_keys.key_id.in_(bindparam("p_ids", expanding=True)))
_METER_STATES_LOCKED = _METER_STATES.with_for_update()  # other workers wait for our commit
_STORED_DIGESTS = select(schema.readings.c.digest).where(
    schema.readings.c.digest.in_(bindparam("p_digests", expanding=True))
)
_INSERT_READINGS = insert(schema.readings)
_SAVE_METER_STATE = (
    update(schema.keys)
    .where(_keys.key_id == bindparam("p_key_id"))
    .values(
        last_message_seq=bindparam("p_seq"),
        last_reading_ts=bindparam("p_ts"),
        last_import_wh=bindparam("p_import_wh"),
        last_export_wh=bindparam("p_export_wh"),
    )
)


class ReadingRepository(Database):
    async def ingest_readings(
        self,
        home_id: str,
        items: Sequence[SignedMessage | ProtocolError],
        signature_ok: dict[int, bool],
        now_ms: int,
        window: ReadingWindow,
        request: RequestSequence | None = None,
    ) -> list[Verdict]:
        """Judge and store a batch in one transaction; rejected items change nothing.

        With `request`, the upload's request sequence is accepted in the same transaction
        (refused requests raise, see accept_request, and store nothing)."""
        return await self._hot_write(
            partial(
                _ingest,
                home_id=home_id,
                items=items,
                signature_ok=signature_ok,
                now_ms=now_ms,
                window=window,
                request=request,
            )
        )

    async def readings_for(
        self, home_id: str, since_ms: int = 0, limit: int = 1000
    ) -> list[ReadingRecord]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.readings)
                .where(schema.readings.c.home_id == home_id, schema.readings.c.ts >= since_ms)
                .order_by(schema.readings.c.ts, schema.readings.c.reading_id)
                .limit(limit)
            )
            return [
                ReadingRecord(
                    meter_key_id=row.meter_key_id,
                    seq=row.seq,
                    ts=row.ts,
                    import_wh=row.import_wh,
                    export_wh=row.export_wh,
                    digest=row.digest,
                )
                for row in rows
            ]

    async def count_readings(self) -> int:
        async with self._read() as conn:
            count = (await conn.execute(select(func.count()).select_from(schema.readings))).scalar()
            return int(count or 0)


def _ingest(
    conn: Connection,
    home_id: str,
    items: Sequence[SignedMessage | ProtocolError],
    signature_ok: dict[int, bool],
    now_ms: int,
    window: ReadingWindow,
    request: RequestSequence | None,
) -> list[Verdict]:
    if request is not None:
        accept_request(conn, request)
    messages = [item for item in items if isinstance(item, SignedMessage)]
    states = _meter_states(conn, {m.key_id for m in messages})
    stored = _stored_digests(conn, [m.digest for m in messages if _may_be_stored(m, states)])
    verdicts, changed = judge_batch(home_id, items, states, stored, signature_ok, now_ms, window)
    rows = [
        {
            "meter_key_id": item.key_id,
            "home_id": home_id,
            "seq": item.seq,
            "ts": item.ts,
            "import_wh": verdict.registers.import_wh,
            "export_wh": verdict.registers.export_wh,
            "digest": item.digest,
            "sig": item.sig,
            "received_at": now_ms,
        }
        for item, verdict in zip(items, verdicts, strict=True)
        if verdict.status == ACCEPTED
        and isinstance(item, SignedMessage)
        and verdict.registers is not None
    ]
    if rows:
        conn.execute(_INSERT_READINGS, rows)
    for state in changed.values():
        conn.execute(
            _SAVE_METER_STATE,
            {
                "p_key_id": state.key_id,
                "p_seq": state.last_seq,
                "p_ts": state.last_ts,
                "p_import_wh": state.import_wh,
                "p_export_wh": state.export_wh,
            },
        )
    return verdicts


def _meter_states(conn: Connection, key_ids: set[str]) -> dict[str, MeterState]:
    if not key_ids:
        return {}
    query = _METER_STATES if conn.dialect.name == "sqlite" else _METER_STATES_LOCKED
    return {
        row.key_id: MeterState(
            key_id=row.key_id,
            home_id=row.home_id,
            kind=row.kind,
            public_key=row.public_key,
            revoked=row.revoked_at is not None,
            last_seq=row.last_message_seq,
            last_ts=row.last_reading_ts,
            import_wh=row.last_import_wh,
            export_wh=row.last_export_wh,
        )
        for row in conn.execute(query, {"p_ids": sorted(key_ids)})
    }


def _may_be_stored(message: SignedMessage, states: dict[str, MeterState]) -> bool:
    """Whether a reading can already be in the store. Storing one moves its key's message
    sequence up to at least its own, and keys are never deleted, so a reading above that
    sequence (or of an unknown key) cannot be: the common case needs no digest lookup."""
    state = states.get(message.key_id)
    return state is not None and state.last_seq is not None and message.seq <= state.last_seq


def _stored_digests(conn: Connection, digests: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), 500):  # stay below bind-parameter limits
        rows = conn.execute(_STORED_DIGESTS, {"p_digests": digests[start : start + 500]})
        found.update(row.digest for row in rows)
    return found
