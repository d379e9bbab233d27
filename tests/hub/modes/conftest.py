"""Fixtures: hubs on SQLite files with a fake clock (or the real one for live clearing). Every JSON
answer is checked against the API document (ledger endpoints included) when a test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client

from hub.config import HubConfig
from hub.server.context import Clock
from hub.server.openapi import openapi_document
from hub.store import Store
from tests.hub.server.support import FakeClock, Hub, conformance_problems, start_hub

DOCUMENT = openapi_document(ledger=True)


class MakeHub(Protocol):
    def __call__(
        self,
        config: HubConfig,
        *,
        clock: Clock | None = None,
        db_path: Path | None = None,
        run_clearing: bool = False,
    ) -> Awaitable[Hub]: ...


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_hub(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MakeHub]:
    """Start hubs (run_clearing=False unless asked); db_path reopens a database (a restart)."""
    hubs: list[Hub] = []
    session = aiohttp.ClientSession()

    fake_clock = clock

    async def make(
        config: HubConfig,
        *,
        clock: Clock | None = None,
        db_path: Path | None = None,
        run_clearing: bool = False,
    ) -> Hub:
        clock = clock or fake_clock
        if isinstance(clock, FakeClock):
            monkeypatch.setattr(hub_client, "now_ms", clock.ms)
        db_url = f"sqlite:///{db_path or tmp_path / f'hub{len(hubs)}.db'}"
        store = await Store.open(db_url)
        served = await start_hub(config, store, clock, session, db_url, run_clearing)
        hubs.append(served)
        return served

    yield make
    for served in hubs:
        await served.stop()
    await session.close()
    problems = conformance_problems([ex for served in hubs for ex in served.exchanges], DOCUMENT)
    assert not problems, "answers that break the API document:\n" + "\n".join(problems)
