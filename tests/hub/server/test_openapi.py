"""The OpenAPI document is the contract: exactly the served routes, and real answers match it."""

from __future__ import annotations

import time

import pytest
from jsonschema import Draft202012Validator

from hub.config import HubConfig
from hub.server.admin import ADMIN_TOKEN_ENV, token_sha256
from hub.server.openapi import openapi_document
from hub.server.runtime import CLEARING
from hub.store import Store
from tests.hub.server.support import (
    FakeClock,
    Hub,
    conformance_problems,
    curves,
    document,
    documented_routes,
    served_routes,
    start_hub,
)


async def test_openapi_endpoint_serves_the_document(hub: Hub) -> None:
    reply = await hub.raw("GET", "/api/v1/openapi.json")
    assert reply.status == 200
    assert reply.body == document()
    assert reply.body["openapi"].startswith("3.1")


async def test_documented_paths_and_methods_are_exactly_the_served_routes(hub: Hub) -> None:
    documented = documented_routes(document())
    served = served_routes(hub.app)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert {("POST", "/api/v1/bids"), ("GET", "/api/v1/ws")} <= served  # not vacuous


async def test_apps_built_with_and_without_clearing_serve_the_same_routes(
    hub: Hub, tmp_path
) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'other.db'}")
    other = await start_hub(HubConfig(), store, FakeClock(), hub.session, "", run_clearing=True)
    try:
        assert served_routes(other.app) == served_routes(hub.app)
    finally:
        await other.stop()


def test_every_component_and_response_schema_is_valid_json_schema_2020_12() -> None:
    doc = document()
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert schema.get("type") == "object", name
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])
                assert response["description"], (method, path, status)


async def test_every_endpoint_answers_as_documented(
    hub: Hub, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exercise every documented route (success and typical refusals) and validate each answer."""
    monkeypatch.setenv(ADMIN_TOKEN_ENV, token_sha256("admin-test-token"))
    admin = {"Authorization": "Bearer admin-test-token"}
    seller = await hub.enrol("Seller", bus=3, meters=("grid", "pv"))
    buyer = await hub.enrol("Buyer")
    interval = hub.config.next_open_interval(clock())

    await hub.raw("GET", "/health")
    await hub.raw("GET", "/api/v1/openapi.json")
    await hub.raw("GET", "/api/v1/info")
    await hub.raw("GET", "/api/v1/market/tariffs?intervals=3")
    await hub.raw("GET", "/api/v1/market/tariffs?intervals=0")
    await hub.raw("POST", "/api/v1/enrol", {"join_code": "NOPE-NOPE-NOPE"})
    await hub.raw("POST", "/api/v1/enrol", b"not json")
    await seller.client.home()
    await hub.raw("GET", "/api/v1/home")
    await seller.client.upload_readings(
        [seller.meter("grid").reading(100, 5), seller.meter("pv").reading(0, 50)]
    )
    await seller.client.upload_readings([seller.meter("grid").reading(90, 5)])  # rejected item
    await seller.client.readings()
    await seller.client.submit_bid(interval, curves(sell=[(10, 1000, "battery")]))
    await seller.client.submit_bid(interval, curves(sell=[(11, 1000, "battery")]))  # replaced
    await buyer.client.submit_bid(interval, curves(buy=[(25, 600, "base")]))
    misaligned = buyer.client.sign_bid(interval + 1, curves(buy=[(25, 1, "base")]))
    await hub.signed(buyer.key, "POST", "/api/v1/bids", misaligned.to_wire())
    await seller.client.bid(interval)
    await hub.signed(seller.key, "GET", f"/api/v1/bids/{interval + 900}")
    await hub.signed(seller.key, "GET", f"/api/v1/results/{interval}")  # not cleared yet: 404
    clock.set(hub.config.gate_closure_of(interval) + 1)
    await hub.app[CLEARING].clear(interval)
    await hub.raw("GET", "/api/v1/market/intervals")
    await hub.raw("GET", f"/api/v1/market/intervals/{interval}")
    await hub.raw("GET", "/api/v1/market/intervals/soon")
    # Market modes (tests/hub/modes): without a feeder and in periodic mode, these refuse.
    await hub.raw("GET", f"/api/v1/market/intervals/{interval}/network")  # 404 not_configured
    await hub.raw("GET", "/api/v1/grid")  # 404 not_configured
    await hub.signed(seller.key, "POST", "/api/v1/orders", {})  # 409 wrong_market_mode
    await hub.signed(seller.key, "DELETE", f"/api/v1/orders/{seller.home_id}:x")  # 409
    await seller.client.results()
    await seller.client.result(interval)
    await (await hub.enrol("Idle")).client.result(interval)  # allocation null
    async with buyer.client.stream() as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
    # Dashboard data and the admin API (bearer token).
    await hub.raw("GET", "/dashboard/no-such-file.js")
    await hub.raw("GET", "/api/v1/dashboard/overview")
    await hub.raw("GET", "/api/v1/dashboard/history?range=7d")
    await hub.raw("GET", "/api/v1/dashboard/history?range=1y")
    await hub.raw("GET", "/api/v1/market/orderbook")
    await hub.raw("GET", f"/api/v1/market/orderbook/{interval}")
    await hub.raw("GET", "/api/v1/market/orderbook/soon")
    await hub.raw("GET", "/api/v1/admin/homes")
    await hub.raw("GET", "/api/v1/admin/homes", headers=admin)
    await hub.raw("POST", "/api/v1/admin/invites", {"name": "Next"}, headers=admin)
    await hub.raw("POST", "/api/v1/admin/invites", {"name": ""}, headers=admin)
    await hub.raw("GET", "/api/v1/admin/settings", headers=admin)
    await hub.raw("PUT", "/api/v1/admin/settings", {"k_percent": 40}, headers=admin)
    await hub.raw("PUT", "/api/v1/admin/settings", {"k_percent": 400}, headers=admin)
    month = time.strftime("%Y-%m", time.gmtime(interval))
    await hub.raw("GET", f"/api/v1/admin/statements/{month}", headers=admin)
    await hub.raw("GET", f"/api/v1/admin/statements/{month}/homes/{buyer.home_id}", headers=admin)
    await hub.raw("GET", f"/api/v1/admin/statements/{month}/homes/{'0' * 16}", headers=admin)
    limit = {"start": interval, "end": interval + 900, "import_kw": 4.2}
    made = await hub.raw("POST", "/api/v1/admin/grid-limits", limit, headers=admin)
    await hub.raw("POST", "/api/v1/admin/grid-limits", {**limit, "end": 0}, headers=admin)
    await hub.raw("GET", "/api/v1/admin/grid-limits", headers=admin)
    lift = f"/api/v1/admin/grid-limits/{made.body['limit_id']}"
    await hub.raw("DELETE", lift, headers=admin)
    await hub.raw("DELETE", lift, headers=admin)  # 404
    pv_key = seller.meter("pv").key.key_id
    await hub.raw("POST", f"/api/v1/admin/keys/{pv_key}/revoke", headers=admin)
    await hub.raw("POST", f"/api/v1/admin/homes/{buyer.home_id}/revoke", headers=admin)
    await hub.raw("POST", f"/api/v1/admin/homes/{buyer.home_id}/revoke", headers=admin)

    exercised = {(ex.method, ex.path) for ex in hub.exchanges}
    # The WebSocket upgrade and the HTML page are not JSON answers.
    documented = documented_routes(document()) - {("GET", "/api/v1/ws"), ("GET", "/")}
    assert documented <= exercised
    statuses = {(ex.method, ex.path, ex.status) for ex in hub.exchanges}
    assert ("POST", "/api/v1/bids", 201) in statuses
    assert ("POST", "/api/v1/bids", 200) in statuses
    assert ("POST", "/api/v1/bids", 422) in statuses
    assert conformance_problems(hub.exchanges) == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/api/v1/info", {"GET", "HEAD"}),
        ("DELETE", "/api/v1/bids", {"POST"}),
        ("PATCH", "/api/v1/admin/settings", {"GET", "HEAD", "PUT"}),
    ],
)
async def test_a_method_the_document_does_not_list_is_405_with_an_allow_header(
    hub: Hub, method: str, path: str, allowed: set[str]
) -> None:
    """RFC 9110: a 405 names the methods the resource does serve (schemathesis checks it)."""
    async with hub.session.request(method, hub.url + path) as response:
        assert response.status == 405
        assert set(response.headers["Allow"].split(",")) == allowed
        assert (await response.json())["error"] == "method_not_allowed"
    documented = {m.upper() for m in document()["paths"][path]}
    assert allowed - {"HEAD"} == documented


def test_every_documented_parameter_is_one_the_server_checks() -> None:
    """hub.server.params checks path and query parameters against the document: each uses only
    what that check reads, and every integer has both bounds (a limit the server enforced but
    the document did not declare was a schemathesis finding)."""
    supported = {"type", "minimum", "maximum", "pattern", "enum", "minLength", "maxLength"}
    checked = 0
    for ledger in (False, True):
        doc = openapi_document(ledger=ledger, workers=True)
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] not in ("path", "query"):
                        continue
                    schema = parameter["schema"]
                    where = (method, path, parameter["name"])
                    assert set(schema) <= supported, where
                    if schema.get("type") == "integer":
                        assert {"minimum", "maximum"} <= set(schema), where
                    assert "400" in operation["responses"], where
                    checked += 1
    assert checked > 20
