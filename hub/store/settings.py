"""The operator's settings changed in the admin area (key -> JSON value)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update

from hub.store import schema
from hub.store.engine import Database


class SettingsRepository(Database):
    async def get_settings(self) -> dict[str, Any]:
        async with self._read() as conn:
            rows = await conn.execute(select(schema.settings))
            return {row.key: json.loads(row.value) for row in rows}

    async def put_setting(self, key: str, value: Any, now_ms: int) -> None:
        encoded = json.dumps(value, sort_keys=True)
        async with self._write() as conn:
            updated = await conn.execute(
                update(schema.settings)
                .where(schema.settings.c.key == key)
                .values(value=encoded, updated_at=now_ms)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    insert(schema.settings).values(key=key, value=encoded, updated_at=now_ms)
                )

    async def forget_setting(self, key: str) -> bool:
        """Drop a stored setting (the configuration file's value applies again); False when
        none was stored."""
        async with self._write() as conn:
            deleted = await conn.execute(
                delete(schema.settings).where(schema.settings.c.key == key)
            )
            return bool(deleted.rowcount)
