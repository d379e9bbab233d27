"""Fixtures: hubs with the dashboard set up, on SQLite files, with a fake clock and an admin
token in the environment. Every JSON answer is checked against the OpenAPI document at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client

from hub.config import HubConfig
from hub.server.admin import ADMIN_TOKEN_ENV
from tests.hub.dashboard.support import ADMIN_TOKEN_SHA256, DashHub, start_dashboard_hub
from tests.hub.server.support import FakeClock, conformance_problems, default_log_level

__all__ = ["default_log_level"]  # autouse: the hub logs at INFO, as `serve` does


class MakeHub(Protocol):
    async def __call__(
        self, config: HubConfig | None = None, *, db_name: str = "hub.db"
    ) -> DashHub: ...


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, ADMIN_TOKEN_SHA256)
    return ADMIN_TOKEN_SHA256


@pytest.fixture
async def make_hub(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MakeHub]:
    monkeypatch.setattr(hub_client, "now_ms", clock.ms)  # signed requests use the hub's clock
    hubs: list[DashHub] = []
    session = aiohttp.ClientSession()

    async def make(config: HubConfig | None = None, *, db_name: str = "hub.db") -> DashHub:
        served = await start_dashboard_hub(
            config or HubConfig(), f"sqlite:///{tmp_path / db_name}", clock, session
        )
        hubs.append(served)
        return served

    yield make
    for served in hubs:
        await served.stop()
    await session.close()
    problems = conformance_problems(ex for served in hubs for ex in served.exchanges)
    assert not problems, "answers that break the OpenAPI document:\n" + "\n".join(problems)


@pytest.fixture
async def hub(make_hub: MakeHub) -> DashHub:
    return await make_hub()
