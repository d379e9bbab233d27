"""Enrolment: every key must prove possession by signing the canonical enrolment payload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gridcoop_home.protocol.enrolment import (
    MAX_METERS,
    Enrolment,
    MeterKey,
    build_enrolment,
    parse_enrolment,
)
from gridcoop_home.protocol.errors import (
    BAD_SIGNATURE,
    DUPLICATE_KEY,
    DUPLICATE_METER_NAME,
    MALFORMED,
    ProtocolError,
)
from gridcoop_home.protocol.keys import SigningKey

CODE = "ABCD-EFGH-JKLM"
HOME_KEY = SigningKey.generate()
GRID_KEY = SigningKey.generate()
PV_KEY = SigningKey.generate()


def enrolment_body(**meters: tuple[str, SigningKey]) -> dict[str, Any]:
    if not meters:
        meters = {"main": ("grid", GRID_KEY), "roof": ("pv", PV_KEY)}
    return build_enrolment(CODE, HOME_KEY, meters)


def reason(data: object) -> str:
    with pytest.raises(ProtocolError) as err:
        parse_enrolment(data)
    return err.value.reason


def test_a_built_enrolment_parses_back_to_the_same_keys() -> None:
    enrolment = parse_enrolment(json.loads(json.dumps(enrolment_body())))

    assert enrolment == Enrolment(
        join_code=CODE,
        home_key=HOME_KEY.public_text,
        meters=(
            MeterKey("main", "grid", GRID_KEY.public_text),
            MeterKey("roof", "pv", PV_KEY.public_text),
        ),
    )
    assert [m.key_id for m in enrolment.meters] == [GRID_KEY.key_id, PV_KEY.key_id]


def test_the_body_carries_one_proof_per_key() -> None:
    data = enrolment_body()

    assert set(data) == {"join_code", "home_key", "meters", "proofs"}
    assert set(data["proofs"]) == {HOME_KEY.key_id, GRID_KEY.key_id, PV_KEY.key_id}


def test_a_home_without_meters_can_enrol() -> None:
    data = build_enrolment(CODE, HOME_KEY, {})

    assert parse_enrolment(data).meters == ()


@pytest.mark.parametrize("holder", ["home", "main", "roof"])
def test_a_missing_proof_for_any_key_is_bad_signature(holder: str) -> None:
    data = enrolment_body()
    key = {"home": HOME_KEY, "main": GRID_KEY, "roof": PV_KEY}[holder]
    del data["proofs"][key.key_id]

    assert reason(data) == BAD_SIGNATURE


def test_a_proof_made_by_another_key_is_bad_signature() -> None:
    data = enrolment_body()
    thief = SigningKey.generate()
    # The thief signs the exact payload, but with his own key instead of the roof meter's.
    payload = parse_enrolment(enrolment_body()).payload()
    data["proofs"][PV_KEY.key_id] = thief.sign(payload)

    assert reason(data) == BAD_SIGNATURE


@pytest.mark.parametrize("proof", ["", "garbage", 17, None])
def test_a_garbage_proof_is_bad_signature(proof: object) -> None:
    data = enrolment_body()
    data["proofs"][GRID_KEY.key_id] = proof

    assert reason(data) == BAD_SIGNATURE


def test_proofs_bind_the_join_code() -> None:
    data = enrolment_body()
    data["join_code"] = "ZZZZ-ZZZZ-ZZZZ"  # replaying someone's proofs with a different code

    assert reason(data) == BAD_SIGNATURE


def test_proofs_bind_every_meter_field() -> None:
    for field, value in (("name", "garage"), ("kind", "battery")):
        data = enrolment_body()
        data["meters"][0][field] = value
        assert reason(data) == BAD_SIGNATURE, field


def test_a_meter_reusing_the_home_key_is_duplicate_key() -> None:
    data = build_enrolment(CODE, HOME_KEY, {"main": ("grid", HOME_KEY)})

    assert reason(data) == DUPLICATE_KEY


def test_two_meters_sharing_a_key_is_duplicate_key() -> None:
    data = build_enrolment(CODE, HOME_KEY, {"main": ("grid", GRID_KEY), "sub": ("pv", GRID_KEY)})

    assert reason(data) == DUPLICATE_KEY


def test_two_meters_with_the_same_name_is_duplicate_meter_name() -> None:
    """Well formed (JSON Schema cannot say that names differ), so its own reason, not malformed."""
    data = enrolment_body()
    data["meters"][1]["name"] = data["meters"][0]["name"]

    assert reason(data) == DUPLICATE_METER_NAME


@pytest.mark.parametrize("kind", ["gas", "home", "GRID", "", None])
def test_an_unknown_meter_kind_is_malformed(kind: object) -> None:
    data = enrolment_body()
    data["meters"][0]["kind"] = kind

    assert reason(data) == MALFORMED


@pytest.mark.parametrize("name", ["", "x" * 65, 5, None])
def test_a_meter_name_must_have_1_to_64_characters(name: object) -> None:
    data = enrolment_body()
    data["meters"][0]["name"] = name

    assert reason(data) == MALFORMED


def test_a_64_character_meter_name_is_fine() -> None:
    data = build_enrolment(CODE, HOME_KEY, {"m" * 64: ("grid", GRID_KEY)})

    assert parse_enrolment(data).meters[0].name == "m" * 64


def test_at_most_max_meters() -> None:
    meters = {f"m{i}": ("grid", SigningKey.generate()) for i in range(MAX_METERS + 1)}

    assert reason(build_enrolment(CODE, HOME_KEY, meters)) == MALFORMED
    del meters["m0"]
    assert len(parse_enrolment(build_enrolment(CODE, HOME_KEY, meters)).meters) == 16


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("join_code", ""),
        ("join_code", None),
        ("home_key", None),
        ("home_key", "not-a-key"),
        ("meters", None),
        ("meters", {"main": "grid"}),
        ("proofs", None),
        ("proofs", []),
    ],
)
def test_wrongly_shaped_fields_are_malformed(field: str, value: object) -> None:
    data = enrolment_body()
    data[field] = value

    assert reason(data) == MALFORMED


def test_a_meter_with_a_garbled_public_key_is_malformed() -> None:
    data = enrolment_body()
    data["meters"][0]["public_key"] = "AAAA"

    assert reason(data) == MALFORMED


@pytest.mark.parametrize("data", [None, [], "enrol"])
def test_an_enrolment_that_is_not_an_object_is_malformed(data: object) -> None:
    assert reason(data) == MALFORMED
