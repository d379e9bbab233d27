"""Fixtures: a fake clock, hubs served over SQLite in tmp_path, and enrolled homes.

Every JSON answer any test receives is checked against the OpenAPI document when the test ends,
so each exercised endpoint proves its documented response schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client

from hub.config import HubConfig
from hub.service.ports import Clock
from hub.store import Store
from tests.hub.server.support import (
    FakeClock,
    Hub,
    conformance_problems,
    default_log_level,
    start_hub,
)

__all__ = ["default_log_level"]  # autouse: the hub logs at INFO, as `serve` does


class MakeHub(Protocol):
    def __call__(
        self,
        config: HubConfig | None = None,
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
    """Start hubs (run_clearing=False unless asked) on SQLite files; all stopped at teardown."""
    hubs: list[Hub] = []
    session = aiohttp.ClientSession()

    async def make(
        config: HubConfig | None = None,
        *,
        clock: Clock = clock,
        db_path: Path | None = None,
        run_clearing: bool = False,
    ) -> Hub:
        if isinstance(clock, FakeClock):
            # Signed requests and readings carry the client's wall clock; let it be the hub's.
            monkeypatch.setattr(hub_client, "now_ms", clock.ms)
        db_url = f"sqlite:///{db_path or tmp_path / f'hub{len(hubs)}.db'}"
        store = await Store.open(db_url)
        served = await start_hub(config or HubConfig(), store, clock, session, db_url, run_clearing)
        hubs.append(served)
        return served

    yield make
    for served in hubs:
        await served.stop()
    await session.close()
    problems = conformance_problems(ex for served in hubs for ex in served.exchanges)
    assert not problems, "answers that break the OpenAPI document:\n" + "\n".join(problems)


@pytest.fixture
async def hub(make_hub: MakeHub) -> Hub:
    """Default hub: 900 s intervals, gate 60 s, flat tariff 30/8, fake clock, manual clearing."""
    return await make_hub()
