"""Enrolment: a home joins with a one-time code, its home key and its meters' keys.

Every key proves possession by signing the canonical enrolment payload, so nobody can enrol a key
they do not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.errors import (
    BAD_SIGNATURE,
    DUPLICATE_KEY,
    DUPLICATE_METER_NAME,
    MALFORMED,
    ProtocolError,
)
from gridcoop_home.protocol.keys import SigningKey, key_id_of, public_key_from_text, verify
from gridcoop_home.protocol.readings import METER_KINDS

ENROL_PURPOSE = "gridcoop-enrol-v1"
MAX_METERS = 16


@dataclass(frozen=True, slots=True)
class MeterKey:
    name: str
    kind: str
    public_key: str

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "public_key": self.public_key}


@dataclass(frozen=True, slots=True)
class Enrolment:
    join_code: str
    home_key: str
    meters: tuple[MeterKey, ...]

    def payload(self) -> bytes:
        return canonical_json(
            {
                "purpose": ENROL_PURPOSE,
                "join_code": self.join_code,
                "home_key": self.home_key,
                "meters": [meter.to_wire() for meter in self.meters],
            }
        )


def build_enrolment(
    join_code: str, home_key: SigningKey, meters: dict[str, tuple[str, SigningKey]]
) -> dict[str, Any]:
    """`meters` maps a meter name to (kind, key). Returns the JSON body for POST /enrol."""
    enrolment = Enrolment(
        join_code=join_code,
        home_key=home_key.public_text,
        meters=tuple(MeterKey(name, kind, key.public_text) for name, (kind, key) in meters.items()),
    )
    payload = enrolment.payload()
    proofs = {home_key.key_id: home_key.sign(payload)}
    proofs.update({key.key_id: key.sign(payload) for _kind, key in meters.values()})
    return {
        "join_code": join_code,
        "home_key": home_key.public_text,
        "meters": [meter.to_wire() for meter in enrolment.meters],
        "proofs": proofs,
    }


def parse_enrolment(data: object) -> Enrolment:
    """Validate shape and every proof of possession; raises ProtocolError naming the problem."""
    if not isinstance(data, dict):
        raise ProtocolError(MALFORMED, "enrolment must be a JSON object")
    join_code, home_key = data.get("join_code"), data.get("home_key")
    if not isinstance(join_code, str) or not join_code:
        raise ProtocolError(MALFORMED, "join_code must be a non-empty string")
    if not isinstance(home_key, str):
        raise ProtocolError(MALFORMED, "home_key must be a base64url Ed25519 public key")
    public_key_from_text(home_key)
    meters = _parse_meters(data.get("meters"))
    enrolment = Enrolment(join_code=join_code, home_key=home_key, meters=meters)
    key_ids = [key_id_of(home_key)] + [meter.key_id for meter in meters]
    if len(set(key_ids)) != len(key_ids):
        raise ProtocolError(DUPLICATE_KEY, "every meter and the home need their own key")
    proofs = data.get("proofs")
    if not isinstance(proofs, dict):
        raise ProtocolError(MALFORMED, "proofs must map key ids to signatures")
    payload = enrolment.payload()
    for public_key in [home_key] + [meter.public_key for meter in meters]:
        proof = proofs.get(key_id_of(public_key))
        if not isinstance(proof, str) or not verify(public_key, payload, proof):
            raise ProtocolError(
                BAD_SIGNATURE, f"no valid proof of possession for key {key_id_of(public_key)}"
            )
    return enrolment


def _parse_meters(raw: object) -> tuple[MeterKey, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_METERS:
        raise ProtocolError(MALFORMED, f"meters must be a list of at most {MAX_METERS}")
    meters: list[MeterKey] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ProtocolError(MALFORMED, f"meters[{i}] must be an object")
        name, kind, key = item.get("name"), item.get("kind"), item.get("public_key")
        if not isinstance(name, str) or not 0 < len(name) <= 64:
            raise ProtocolError(MALFORMED, f"meters[{i}].name must be 1-64 characters")
        if kind not in METER_KINDS:
            raise ProtocolError(MALFORMED, f"meters[{i}].kind must be one of {list(METER_KINDS)}")
        if not isinstance(key, str):
            raise ProtocolError(MALFORMED, f"meters[{i}].public_key must be a string")
        public_key_from_text(key)
        meters.append(MeterKey(name=name, kind=str(kind), public_key=key))
    names = [meter.name for meter in meters]
    if len(set(names)) != len(names):
        raise ProtocolError(DUPLICATE_METER_NAME, "meter names must be unique within a home")
    return tuple(meters)
