"""Enrolment: a one-time join code plus proofs of possession for the home key and meter keys."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.client.hub import HubError, Meter
from gridcoop_home.protocol.enrolment import build_enrolment
from gridcoop_home.protocol.envelope import PROTOCOL_VERSION
from gridcoop_home.protocol.keys import SigningKey

from tests.hub.server.support import FakeClock, Hub


def enrolment_body(code: str, meters: int = 2) -> tuple[dict[str, Any], SigningKey, list[Meter]]:
    home_key = SigningKey.generate()
    meter_list = [Meter(f"m{i}", "grid", SigningKey.generate()) for i in range(meters)]
    body = build_enrolment(code, home_key, {m.name: (m.kind, m.key) for m in meter_list})
    return body, home_key, meter_list


async def test_good_join_code_enrols_home_with_its_keys_201(hub: Hub) -> None:
    code = await hub.invite("House 12", bus=7)
    home_key = SigningKey.generate()
    grid, pv = (
        Meter("grid", "grid", SigningKey.generate()),
        Meter("roof", "pv", SigningKey.generate()),
    )
    body = build_enrolment(code, home_key, {"grid": ("grid", grid.key), "roof": ("pv", pv.key)})

    reply = await hub.raw("POST", "/api/v1/enrol", body)

    assert reply.status == 201
    home = reply.body["home"]
    assert (home["name"], home["bus"], home["revoked"]) == ("House 12", 7, False)
    assert home["created_at"] == hub.now_ms()
    keys = {k["key_id"]: k for k in home["keys"]}
    assert set(keys) == {home_key.key_id, grid.key.key_id, pv.key.key_id}
    assert keys[home_key.key_id] == {
        "key_id": home_key.key_id,
        "kind": "home",
        "name": "home",
        "public_key": home_key.public_text,
        "revoked": False,
    }
    assert (keys[pv.key.key_id]["kind"], keys[pv.key.key_id]["name"]) == ("pv", "roof")
    assert keys[grid.key.key_id]["public_key"] == grid.key.public_text
    assert reply.body["protocol_version"] == PROTOCOL_VERSION
    assert reply.body["interval_seconds"] == hub.config.interval_seconds
    assert reply.body["gate_closure_seconds"] == hub.config.gate_closure_seconds
    # and the home key now authenticates as that home
    me = await hub.client(home_key).home()
    assert me["home_id"] == home["home_id"]
    assert (await hub.store.get_home(home["home_id"])) is not None


async def test_join_code_is_case_and_dash_insensitive(hub: Hub) -> None:
    code = await hub.invite()
    body, _, _ = enrolment_body(code.replace("-", "").lower())
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert reply.status == 201


async def test_reused_join_code_is_409_used_join_code(hub: Hub) -> None:
    code = await hub.invite()
    first, _, _ = enrolment_body(code)
    assert (await hub.raw("POST", "/api/v1/enrol", first)).status == 201

    second, home_key, _ = enrolment_body(code)
    reply = await hub.raw("POST", "/api/v1/enrol", second)

    assert reply.status == 409
    assert reply.body["error"] == "used_join_code"
    assert len(await hub.store.list_homes()) == 1
    assert await hub.store.get_key(home_key.key_id) is None


async def test_expired_join_code_is_410_expired_join_code(hub: Hub, clock: FakeClock) -> None:
    code = await hub.invite(ttl_ms=60_000)
    body, _, _ = enrolment_body(code)
    clock.advance(60.0)  # expires_at == now: expired

    reply = await hub.raw("POST", "/api/v1/enrol", body)

    assert reply.status == 410
    assert reply.body["error"] == "expired_join_code"
    assert await hub.store.list_homes() == []


async def test_join_code_is_valid_until_just_before_expiry(hub: Hub, clock: FakeClock) -> None:
    code = await hub.invite(ttl_ms=60_000)
    body, _, _ = enrolment_body(code)
    clock.advance(59.999)
    assert (await hub.raw("POST", "/api/v1/enrol", body)).status == 201


async def test_unknown_join_code_is_404_unknown_join_code(hub: Hub) -> None:
    await hub.invite()
    body, _, _ = enrolment_body("ABCD-EFGH-JKLM")
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert reply.status == 404
    assert reply.body["error"] == "unknown_join_code"


@pytest.mark.parametrize("whose", ["home", "meter"])
async def test_bad_proof_of_possession_is_401_and_leaves_the_code_usable(
    hub: Hub, whose: str
) -> None:
    code = await hub.invite()
    body, home_key, meters = enrolment_body(code)
    target = home_key if whose == "home" else meters[1].key
    # Someone who only knows the public key signs with a key of their own.
    body["proofs"][target.key_id] = SigningKey.generate().sign(b"the enrolment payload")

    reply = await hub.raw("POST", "/api/v1/enrol", body)

    assert reply.status == 401
    assert reply.body["error"] == "bad_signature"
    assert target.key_id in reply.body["detail"]
    good, _, _ = enrolment_body(code)
    assert (await hub.raw("POST", "/api/v1/enrol", good)).status == 201


async def test_missing_proof_is_401_bad_signature(hub: Hub) -> None:
    body, _, meters = enrolment_body(await hub.invite())
    del body["proofs"][meters[0].key.key_id]
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert (reply.status, reply.body["error"]) == (401, "bad_signature")


async def test_proof_over_a_different_join_code_is_refused(hub: Hub) -> None:
    """The proofs sign the join code: proofs made for one code cannot be replayed with another."""
    code = await hub.invite()
    body, _, _ = enrolment_body("SOME-OTHE-RCOD")
    body["join_code"] = code
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert (reply.status, reply.body["error"]) == (401, "bad_signature")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda b: b"{not json", id="not-json"),
        pytest.param(lambda b: [b], id="json-list"),
        pytest.param(lambda b: {k: v for k, v in b.items() if k != "home_key"}, id="no-home-key"),
        pytest.param(lambda b: b | {"join_code": ""}, id="empty-code"),
        pytest.param(lambda b: b | {"meters": "grid"}, id="meters-not-list"),
        pytest.param(lambda b: b | {"proofs": ["x"]}, id="proofs-not-object"),
        pytest.param(lambda b: b | {"home_key": "c2hvcnQ"}, id="home-key-not-32-bytes"),
        pytest.param(
            lambda b: b | {"meters": [b["meters"][0] | {"kind": "toaster"}]}, id="bad-meter-kind"
        ),
        pytest.param(
            lambda b: b | {"meters": [b["meters"][0] | {"name": ""}]}, id="empty-meter-name"
        ),
    ],
)
async def test_malformed_enrolment_is_400_malformed_and_code_stays_unused(
    hub: Hub, mangle: Any
) -> None:
    code = await hub.invite()
    body, _, _ = enrolment_body(code)

    reply = await hub.raw("POST", "/api/v1/enrol", mangle(body))

    assert reply.status == 400
    assert reply.body["error"] == "malformed"
    assert reply.body["detail"]
    assert (await hub.raw("POST", "/api/v1/enrol", enrolment_body(code)[0])).status == 201


async def test_duplicate_meter_names_are_422_and_the_code_stays_unused(hub: Hub) -> None:
    """Well formed (the schema cannot say names differ), so 422 and not `malformed`."""
    code = await hub.invite()
    body, _, _ = enrolment_body(code)
    body["meters"][1]["name"] = body["meters"][0]["name"]
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert (reply.status, reply.body["error"]) == (422, "duplicate_meter_name")
    assert (await hub.raw("POST", "/api/v1/enrol", enrolment_body(code)[0])).status == 201


async def test_same_key_for_home_and_meter_is_409_duplicate_key(hub: Hub) -> None:
    code = await hub.invite()
    key = SigningKey.generate()
    body = build_enrolment(code, key, {"grid": ("grid", key)})
    reply = await hub.raw("POST", "/api/v1/enrol", body)
    assert (reply.status, reply.body["error"]) == (409, "duplicate_key")


async def test_key_enrolled_by_another_home_is_409_and_the_code_is_not_consumed(hub: Hub) -> None:
    taken = await hub.enrol("First")
    code = await hub.invite("Second")
    body = build_enrolment(code, SigningKey.generate(), {"grid": ("grid", taken.meters[0].key)})

    reply = await hub.raw("POST", "/api/v1/enrol", body)

    assert (reply.status, reply.body["error"]) == (409, "duplicate_key")
    assert [h.name for h in await hub.store.list_homes()] == ["First"]  # nothing half-written
    assert (await hub.raw("POST", "/api/v1/enrol", enrolment_body(code)[0])).status == 201


async def test_hub_client_enrol_raises_hub_error_with_reason(hub: Hub) -> None:
    with pytest.raises(HubError) as refused:
        await hub.client().enrol("ZZZZ-ZZZZ-ZZZZ", SigningKey.generate(), [])
    assert (refused.value.status, refused.value.reason) == (404, "unknown_join_code")
