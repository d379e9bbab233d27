"""Ledger fixtures: SQLite and PostgreSQL databases, and ledger-enabled hubs on a fake clock whose
every JSON answer is checked against the API document (ledger endpoints included)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client
from jsonschema import Draft202012Validator

from hub.config import HubConfig
from hub.ledger.service.settings import LedgerSettings
from hub.server.openapi import openapi_document
from hub.store import Store
from tests.hub.databases import BACKENDS, fresh_database
from tests.hub.server.support import Exchange, FakeClock, Hub, start_hub

LEDGER_DOC = openapi_document(ledger=True)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a throwaway PostgreSQL database."""
    with fresh_database(request.param, tmp_path, "ledger") as url:
        yield url


def ledger_config(tmp_path: Path, **settings: object) -> HubConfig:
    return HubConfig(
        ledger=LedgerSettings(enabled=True, key_file=str(tmp_path / "hub-ledger.key"), **settings)  # type: ignore[arg-type]
    )


class MakeLedgerHub(Protocol):
    def __call__(
        self, config: HubConfig | None = None, db_path: Path | None = None
    ) -> Awaitable[Hub]: ...


def ledger_conformance_problems(exchanges: list[Exchange]) -> list[str]:
    problems = []
    for ex in exchanges:
        where = f"{ex.method} {ex.path} -> {ex.status}"
        try:
            response = LEDGER_DOC["paths"][ex.path][ex.method.lower()]["responses"][str(ex.status)]
            schema = response["content"]["application/json"]["schema"]
        except KeyError:
            problems.append(f"{where}: status not documented")
            continue
        validator = Draft202012Validator({**schema, "components": LEDGER_DOC["components"]})
        problems += [
            f"{where}: {e.message} at {list(e.absolute_path)}"
            for e in validator.iter_errors(ex.body)
        ]
    return problems


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0 - 3600)


@pytest.fixture
async def make_ledger_hub(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MakeLedgerHub]:
    monkeypatch.setattr(hub_client, "now_ms", clock.ms)
    hubs: list[Hub] = []
    session = aiohttp.ClientSession()

    async def make(config: HubConfig | None = None, db_path: Path | None = None) -> Hub:
        db_url = f"sqlite:///{db_path or tmp_path / f'hub{len(hubs)}.db'}"
        store = await Store.open(db_url)
        served = await start_hub(config or ledger_config(tmp_path), store, clock, session, db_url)
        hubs.append(served)
        return served

    yield make
    for served in hubs:
        await served.stop()
    await session.close()
    problems = ledger_conformance_problems([ex for served in hubs for ex in served.exchanges])
    assert not problems, "answers that break the API document:\n" + "\n".join(problems)
