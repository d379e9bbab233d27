"""Text no database can store is refused at the door, on SQLite and on PostgreSQL.

A lone UTF-16 surrogate ("\\ud800" in JSON) cannot be encoded as UTF-8 by either driver and
PostgreSQL text cannot hold U+0000; both once reached the store and answered 500 (issue 16),
some of them to unauthenticated callers (enrolment, the ledger's entry lookup). Each is now a 400
`malformed` whose detail names the field, and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gridcoop_home.client import hub as hub_client
from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.keys import SigningKey

from hub.config import HubConfig
from hub.ledger.service.settings import LedgerSettings
from hub.server.openapi import openapi_document
from hub.store import Store
from tests.hub.databases import BACKENDS, fresh_database
from tests.hub.server.support import (
    FakeClock,
    Home,
    Hub,
    Reply,
    conformance_problems,
    curves,
    start_hub,
)

SURROGATE = "\ud800"
NUL = "\x00"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, "text") as url:
        yield url


@pytest.fixture
async def hub(
    db_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hub]:
    """A hub with the ledger on (for retirements and entry lookups) over SQLite or PostgreSQL."""
    monkeypatch.setattr(hub_client, "now_ms", clock.ms)
    config = HubConfig(ledger=LedgerSettings(enabled=True, key_file=str(tmp_path / "l.key")))
    store = await Store.open(db_url)
    async with aiohttp.ClientSession() as session:
        served = await start_hub(config, store, clock, session, db_url)
        try:
            yield served
        finally:
            await served.stop()
    assert conformance_problems(served.exchanges, openapi_document(ledger=True)) == []


def refused_naming(reply: Reply, field: str) -> bool:
    return (
        reply.status == 400
        and reply.body["error"] == "malformed"
        and reply.body["detail"].startswith(field)
    )


def reading(home: Home, **changes: Any) -> dict[str, Any]:
    """A reading as the meter signs it, with some fields replaced (its signature is not checked:
    the refusal comes first)."""
    wire = home.meter("grid").reading(100, 5).to_wire()
    body = changes.pop("body", None)
    return {**wire, **changes, "body": {**wire["body"], **(body or {})}}


async def upload(hub: Hub, home: Home, item: dict[str, Any]) -> Reply:
    return await hub.signed(home.key, "POST", "/api/v1/readings", {"readings": [item]})


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
async def test_a_reading_key_id_or_body_with_unstorable_text_is_400_and_stores_nothing(
    hub: Hub, bad: str
) -> None:
    home = await hub.enrol()
    cases = {
        "readings[0].key_id": reading(home, key_id=bad),
        "readings[0].body": reading(home, body={f"import{bad}": 1}),  # a field name
        "readings[0].body.note": reading(home, body={"note": f"x{bad}"}),
    }
    for field, item in cases.items():
        assert refused_naming(await upload(hub, home, item), field), field
    assert await home.client.readings() == []
    await home.client.upload_readings([home.meter("grid").reading(100, 5)])  # still serves


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
async def test_an_enrolment_with_unstorable_text_is_400_and_leaves_the_code_unused(
    hub: Hub, bad: str
) -> None:
    code = await hub.invite()
    meter = SigningKey.generate()
    good = build_enrolment(code, SigningKey.generate(), {"grid": ("grid", meter)})
    bad_meter = {**good["meters"][0], "name": f"grid{bad}"}
    cases = {
        "join_code": {**good, "join_code": f"{code}{bad}"},
        "meters[0].name": {**good, "meters": [bad_meter]},
    }
    for field, body in cases.items():
        assert refused_naming(await hub.raw("POST", "/api/v1/enrol", body), field), field
    assert (await hub.raw("POST", "/api/v1/enrol", good)).status == 201  # the code was unused


async def test_a_bid_with_a_lone_surrogate_is_400_and_stores_nothing(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    start = hub.config.next_open_interval(clock())
    bid = home.client.sign_bid(start, curves(buy=[(20, 100, "ev")])).to_wire()
    bid["body"]["buy"][0]["asset"] = f"ev{SURROGATE}"
    reply = await hub.signed(home.key, "POST", "/api/v1/bids", bid)
    assert refused_naming(reply, "body.buy[0].asset")
    assert (await hub.signed(home.key, "GET", f"/api/v1/bids/{start}")).status == 404


async def test_a_retirement_purpose_with_a_lone_surrogate_is_400(hub: Hub) -> None:
    home = await hub.enrol()
    retirement = {
        "kind": "retire",
        "home_id": home.home_id,
        "lot": "lot-1",
        "units": 1,
        "purpose": f"heating {SURROGATE}",
        "key_id": home.key.key_id,
        "seq": 1,
        "ts": hub.now_ms(),
        "sig": "AAAA",
    }
    reply = await hub.signed(home.key, "POST", "/api/v1/ledger/transactions", retirement)
    assert refused_naming(reply, "purpose")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/api/v1/ledger/entries/%00", "entry_hash"), ("/api/v1/ledger/homes/a%00", "home_id")],
)
async def test_an_unauthenticated_path_with_nul_is_400_naming_the_parameter(
    hub: Hub, path: str, parameter: str
) -> None:
    reply = await hub.raw("GET", path)
    assert refused_naming(reply, parameter)
    assert "U+0000" in reply.body["detail"]


async def test_json_escapes_of_storable_text_still_pass(hub: Hub) -> None:
    """Only the two unstorable cases are refused: escaped non-ASCII text and paired surrogates
    (an emoji) are ordinary text."""
    code = await hub.invite()
    meters = {"Zähler ☀ \U0001f31e": ("pv", SigningKey.generate())}
    body = json.dumps(build_enrolment(code, SigningKey.generate(), meters))  # ASCII + escapes
    assert "\\ud83c\\udf1e" in body
    reply = await hub.raw("POST", "/api/v1/enrol", body.encode())
    assert reply.status == 201
    assert [key["name"] for key in reply.body["home"]["keys"] if key["kind"] == "pv"] == [
        "Zähler ☀ \U0001f31e"
    ]
