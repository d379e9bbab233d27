"""Hand-written hostile inputs: huge bodies, deep nesting, unicode ids, absurd integers, wrong
content types, non-JSON numbers. Each is refused with a 4xx in the JSON error shape, documented
in the OpenAPI document, and the hub keeps serving. (What the hub still gets wrong is in
test_known_bugs.py, as strict xfails.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.envelope import sign_message
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import HEADER_KEY_ID, HEADER_SEQ, HEADER_TIMESTAMP

from tests.hub.fuzz.conftest import Answer, LocalHub, conformance_problems

MIB = 1024 * 1024
LIMIT = 2 * MIB  # hub.server.app.MAX_BODY_BYTES


def refused(answer: Answer, status: int, reason: str) -> bool:
    return (
        answer.status == status
        and answer.content_type == "application/json"
        and answer.json()["error"] == reason
        and bool(answer.json()["detail"])
    )


def documented(local: LocalHub) -> None:
    """Every JSON answer the hub gave in this test is a documented status with a valid body."""
    assert conformance_problems(local.hub.exchanges) == []


async def healthy(local: LocalHub) -> bool:
    return (await local.send("GET", "/health")).status == 200


# -- huge bodies --------------------------------------------------------------------------------


async def test_a_signed_upload_over_2_mib_is_413_content_too_large_with_the_limit(
    local_hub: LocalHub,
) -> None:
    body = b'{"readings": [' + b" " * (LIMIT + 10) + b"]}"
    answer = await local_hub.signed("POST", "/api/v1/readings", body)
    assert refused(answer, 413, "content_too_large")
    assert str(LIMIT) in answer.json()["detail"]
    assert await healthy(local_hub)
    documented(local_hub)


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit_too(
    local_hub: LocalHub,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3 * 16):
            yield b"[" * (64 * 1024)

    answer = await local_hub.send("POST", "/api/v1/admin/invites", chunks(), {**local_hub.admin()})
    assert refused(answer, 413, "content_too_large")
    assert await healthy(local_hub)


async def test_a_body_just_under_the_limit_is_parsed_and_refused_on_its_content(
    local_hub: LocalHub,
) -> None:
    body = b'{"readings": []' + b" " * (LIMIT - 100) + b"}"
    answer = await local_hub.signed("POST", "/api/v1/readings", body)
    assert refused(answer, 400, "malformed")
    documented(local_hub)


async def test_a_batch_above_max_batch_is_422_out_of_bounds_not_stored(
    local_hub: LocalHub,
) -> None:
    meter = local_hub.home.meter("grid")
    readings = [meter.reading(i, 0).to_wire() for i in range(1001)]
    body = json.dumps({"readings": readings}).encode()
    answer = await local_hub.signed("POST", "/api/v1/readings", body)
    assert refused(answer, 422, "out_of_bounds")
    documented(local_hub)


# -- deep nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 900])  # deeper: test_known_bugs.py
@pytest.mark.parametrize("path", ["/api/v1/enrol", "/api/v1/admin/invites"])
async def test_deeply_nested_json_the_parser_can_read_is_400_malformed(
    local_hub: LocalHub, path: str, depth: int
) -> None:
    body = b"[" * depth + b"]" * depth
    answer = await local_hub.send("POST", path, body, local_hub.admin())
    assert refused(answer, 400, "malformed")
    documented(local_hub)


async def test_deeply_nested_readings_batch_is_400_malformed(local_hub: LocalHub) -> None:
    body = b'{"readings": ' + b"[" * 900 + b"]" * 900 + b"}"
    answer = await local_hub.signed("POST", "/api/v1/readings", body)
    assert answer.status == 200  # one item, refused on its own
    result = answer.json()
    assert result["rejected"] == 1 and result["results"][0]["reason"] == "malformed"
    documented(local_hub)


# -- unicode in identifiers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/ledger/homes/%C3%BC", 404),
        ("/api/v1/ledger/homes/%F0%9F%92%A5%00", 400),  # NUL: no database stores it
        ("/api/v1/ledger/entries/%D0%BA%D0%BB%D1%8E%D1%87", 400),  # not hex, as documented
        ("/api/v1/market/intervals/%E2%88%9E", 400),  # infinity sign
        ("/api/v1/market/orderbook/%EF%BC%91", 400),  # fullwidth 1: ASCII digits only
        ("/api/v1/ledger/blocks/%C3%BC", 400),
        ("/dashboard/%C3%BC.js", 404),
        ("/dashboard/..%2F..%2F..%2Fpyproject.toml", 404),
    ],
)
async def test_unicode_ids_in_public_paths_are_refused_cleanly(
    local_hub: LocalHub, path: str, status: int
) -> None:
    answer = await local_hub.send("GET", path)
    assert answer.status == status
    assert answer.content_type == "application/json"
    documented(local_hub)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/admin/homes/%C3%BC/revoke",
        "/api/v1/admin/keys/%D0%BA%D0%BB%D1%8E%D1%87/revoke",
        "/api/v1/admin/homes/" + "a" * 65 + "/revoke",
    ],
)
async def test_unicode_ids_in_admin_paths_are_404_and_revoke_nothing(
    local_hub: LocalHub, path: str
) -> None:
    answer = await local_hub.send("POST", path, headers=local_hub.admin())
    assert refused(answer, 404, "not_found")
    assert (await local_hub.signed("GET", "/api/v1/home")).status == 200
    documented(local_hub)


async def test_a_unicode_key_id_header_is_401_unknown_key(local_hub: LocalHub) -> None:
    headers = local_hub.hub.signed_headers(local_hub.home.key, "GET", "/api/v1/home")
    headers["X-GridCoop-Key-Id"] = "ключ-🔑"
    answer = await local_hub.send("GET", "/api/v1/home", headers=headers)
    assert refused(answer, 401, "unknown_key")
    documented(local_hub)


async def test_a_unicode_join_code_is_404_unknown_join_code(local_hub: LocalHub) -> None:
    body = build_enrolment("КОД-ÜÖÄ-💥", SigningKey.generate(), {})
    answer = await local_hub.send("POST", "/api/v1/enrol", json.dumps(body).encode())
    assert refused(answer, 404, "unknown_join_code")
    documented(local_hub)


async def test_unicode_meter_names_are_stored_and_echoed_as_sent(local_hub: LocalHub) -> None:
    code = await local_hub.hub.invite("Дом 7 🏠")
    meter = SigningKey.generate()
    body = build_enrolment(code, SigningKey.generate(), {"счётчик ☀": ("pv", meter)})
    answer = await local_hub.send("POST", "/api/v1/enrol", json.dumps(body).encode())
    assert answer.status == 201
    home = answer.json()["home"]
    assert home["name"] == "Дом 7 🏠"
    assert [key["name"] for key in home["keys"] if key["kind"] == "pv"] == ["счётчик ☀"]
    documented(local_hub)


# -- absurd integers in query parameters and headers --------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=0",
        "limit=3001",
        "limit=99999999999999999999999999999",
        "limit=-99999999999999999999999999999",
        "from=-1",
        "to=1099511627777",
        "from=99999999999999999999&to=1",
        "limit=1e3",
        "limit=0x10",
        "limit=",
        "limit=NaN",
        "limit=" + "9" * 5000,  # beyond Python's int() digit limit
    ],
)
async def test_negative_overflowing_or_non_integer_query_values_are_400_malformed(
    local_hub: LocalHub, query: str
) -> None:
    answer = await local_hub.send("GET", f"/api/v1/market/intervals?{query}")
    assert refused(answer, 400, "malformed")
    documented(local_hub)


@pytest.mark.parametrize(
    ("path", "signed"),
    [
        ("/api/v1/market/tariffs?intervals=401", False),
        ("/api/v1/market/tariffs?intervals=-400", False),
        ("/api/v1/ledger/blocks?from=-1", False),
        ("/api/v1/ledger/blocks?limit=1001", False),
        ("/api/v1/ledger/retirements?limit=0", False),
        ("/api/v1/readings?since=-1", True),
        ("/api/v1/readings?limit=10001", True),
        ("/api/v1/results?limit=99999999999999999999999", True),
    ],
)
async def test_out_of_range_query_values_on_other_routes_are_400_malformed(
    local_hub: LocalHub, path: str, signed: bool
) -> None:
    answer = await (local_hub.signed("GET", path) if signed else local_hub.send("GET", path))
    assert refused(answer, 400, "malformed")
    documented(local_hub)


@pytest.mark.parametrize("seq", ["-1x", "1e3", "", "99" * 3000])
async def test_a_sequence_header_that_is_no_integer_is_refused(
    local_hub: LocalHub, seq: str
) -> None:
    headers = local_hub.hub.signed_headers(local_hub.home.key, "GET", "/api/v1/home")
    headers[HEADER_SEQ] = seq
    answer = await local_hub.send("GET", "/api/v1/home", headers=headers)
    assert answer.status in (400, 401) and answer.content_type == "application/json"
    documented(local_hub)


async def test_a_timestamp_beyond_64_bits_is_401_timestamp_in_future(local_hub: LocalHub) -> None:
    answer = await local_hub.signed("GET", "/api/v1/home", ts_ms=2**70)
    assert refused(answer, 401, "timestamp_in_future")
    documented(local_hub)


async def test_a_reading_register_beyond_64_bits_is_rejected_per_item(local_hub: LocalHub) -> None:
    meter = local_hub.home.meter("grid")
    huge = sign_message(
        meter.key, "reading", {"import_wh": 2**70, "export_wh": 0}, 1, local_hub.hub.now_ms()
    )
    body = json.dumps({"readings": [huge.to_wire()]}).encode()
    answer = await local_hub.signed("POST", "/api/v1/readings", body)
    assert answer.status == 200
    assert answer.json()["results"][0]["reason"] == "malformed"
    documented(local_hub)


async def test_bid_prices_and_energies_beyond_64_bits_are_422_out_of_bounds(
    local_hub: LocalHub,
) -> None:
    start = local_hub.hub.config.next_open_interval(local_hub.hub.clock())
    for step in ({"price": 2**70, "energy_wh": 100}, {"price": 10, "energy_wh": 2**70}):
        bid = local_hub.home.client.sign_bid(start, _curves(step))
        answer = await local_hub.signed("POST", "/api/v1/bids", json.dumps(bid.to_wire()).encode())
        assert refused(answer, 422, "out_of_bounds"), answer
    documented(local_hub)


def _curves(step: dict[str, int]) -> object:
    from gridcoop_home.protocol.bids import BidCurves, BidStep

    return BidCurves(buy=(BidStep(step["price"], step["energy_wh"], "base"),), sell=())


# -- wrong content types and non-JSON ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"join_code=ABCD&home_key=x"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\n1"),
        ("application/xml", b"<enrol><join_code>x</join_code></enrol>"),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b'{"join_code": NaN, "home_key": Infinity}'),
        ("application/json", b'{"join_code": 1e999}'),
        ("application/json", b'{"join_code": ' + b"7" * 5000 + b"}"),
        ("application/json", b""),
        ("text/plain", b"null"),
    ],
)
async def test_bodies_that_are_no_json_object_are_400_malformed_whatever_the_content_type(
    local_hub: LocalHub, content_type: str, body: bytes
) -> None:
    answer = await local_hub.send("POST", "/api/v1/enrol", body, {"Content-Type": content_type})
    assert refused(answer, 400, "malformed")
    documented(local_hub)


async def test_the_hub_reads_json_whatever_the_declared_content_type(local_hub: LocalHub) -> None:
    """Content-Type is not checked (documented here; it matters for nothing the hub does: no
    cookies, so no cross-site request can carry credentials)."""
    body = build_enrolment("AAAA-BBBB-CCCC", SigningKey.generate(), {})
    answer = await local_hub.send(
        "POST", "/api/v1/enrol", json.dumps(body).encode(), {"Content-Type": "text/plain"}
    )
    assert refused(answer, 404, "unknown_join_code")
    documented(local_hub)


async def test_wrong_methods_and_unknown_paths_get_json_errors(local_hub: LocalHub) -> None:
    answer = await local_hub.send("DELETE", "/api/v1/info")
    assert refused(answer, 405, "method_not_allowed")
    answer = await local_hub.send("GET", "/api/v1/" + "x" * 5000)
    assert refused(answer, 404, "not_found")
    answer = await local_hub.send("PATCH", "/api/v1/admin/settings", b"{}", local_hub.admin())
    assert refused(answer, 405, "method_not_allowed")


async def test_a_signed_websocket_upgrade_with_a_forged_signature_is_401(
    local_hub: LocalHub,
) -> None:
    headers = local_hub.hub.signed_headers(local_hub.home.key, "GET", "/api/v1/ws")
    headers[HEADER_TIMESTAMP] = str(int(headers[HEADER_TIMESTAMP]) + 1)  # breaks the signature
    headers.update(
        {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }
    )
    answer = await local_hub.send("GET", "/api/v1/ws", headers=headers)
    assert refused(answer, 401, "bad_signature")
    documented(local_hub)


# -- header bytes that are not UTF-8 --------------------------------------------------------------


async def _raw_status(local: LocalHub, path: str, headers: dict[str, bytes]) -> int:
    """Send header bytes as they are (aiohttp's client would encode them): the status line."""
    host, port = local.hub.server.host, local.hub.server.port
    assert port is not None
    reader, writer = await asyncio.open_connection(host, port)
    lines = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers.items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + lines)
    writer.write(b"Connection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return int(answer.split(b" ", 2)[1])


async def test_a_key_id_header_that_is_not_utf8_is_401_not_a_database_error(
    local_hub: LocalHub,
) -> None:
    """aiohttp reads such bytes as lone surrogates, which no database driver can encode."""
    signed = local_hub.hub.signed_headers(local_hub.home.key, "GET", "/api/v1/home")
    headers = {name: value.encode() for name, value in signed.items()}
    headers[HEADER_KEY_ID] = b"\xed\xa0\x80" + headers[HEADER_KEY_ID]
    for path in ("/api/v1/home", "/api/v1/ws"):
        assert await _raw_status(local_hub, path, headers) == 401
    assert await healthy(local_hub)


async def test_an_admin_token_that_is_not_utf8_is_401(local_hub: LocalHub) -> None:
    headers = {"Authorization": b"Bearer \xff" + local_hub.admin_token.encode()}
    assert await _raw_status(local_hub, "/api/v1/admin/homes", headers) == 401
