"""A store on a SQLite file and a hub configuration for the intake tests (the store itself is
tested on SQLite and PostgreSQL in tests/hub/store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def config() -> HubConfig:
    return HubConfig()
