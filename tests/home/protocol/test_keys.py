"""Ed25519 keys: text encodings, key ids and a verify() that never raises."""

from __future__ import annotations

import hashlib
import re

import pytest
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError
from gridcoop_home.protocol.keys import (
    SigningKey,
    b64url_decode,
    b64url_encode,
    key_id_of,
    private_key_from_text,
    public_key_from_text,
    verify,
)

DATA = b"gridcoop reading 17"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey.generate()


def test_private_key_text_round_trips_to_the_same_key(key: SigningKey) -> None:
    restored = SigningKey.from_text(key.to_text())

    assert restored.public_text == key.public_text
    assert restored.key_id == key.key_id
    assert restored.to_text() == key.to_text()
    assert verify(key.public_text, DATA, restored.sign(DATA))


def test_key_texts_are_unpadded_base64url_of_32_bytes(key: SigningKey) -> None:
    for text in (key.to_text(), key.public_text):
        assert len(text) == 43
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", text)
        assert len(b64url_decode(text)) == 32


def test_public_key_text_round_trips(key: SigningKey) -> None:
    public = public_key_from_text(key.public_text)

    assert b64url_encode(public.public_bytes_raw()) == key.public_text


def test_key_id_is_32_hex_chars_of_sha256_over_the_raw_public_key(key: SigningKey) -> None:
    expected = hashlib.sha256(b64url_decode(key.public_text)).hexdigest()[:32]

    assert re.fullmatch(r"[0-9a-f]{32}", key.key_id)
    assert key.key_id == expected
    assert key_id_of(key.public_text) == expected


def test_different_keys_have_different_ids(key: SigningKey, other_key: SigningKey) -> None:
    assert key.key_id != other_key.key_id


def test_signatures_are_deterministic(key: SigningKey) -> None:
    assert key.sign(DATA) == key.sign(DATA)
    assert len(b64url_decode(key.sign(DATA))) == 64


def test_verify_accepts_a_genuine_signature(key: SigningKey) -> None:
    assert verify(key.public_text, DATA, key.sign(DATA)) is True


def test_verify_is_false_for_tampered_data(key: SigningKey) -> None:
    assert verify(key.public_text, DATA + b"!", key.sign(DATA)) is False


def test_verify_is_false_for_the_wrong_key(key: SigningKey, other_key: SigningKey) -> None:
    assert verify(other_key.public_text, DATA, key.sign(DATA)) is False


@pytest.mark.parametrize(
    "signature",
    ["", "garbage", "!!!!not base64!!!!", "ä", "A" * 86, "A" * 200],
)
def test_verify_is_false_for_a_garbage_signature(key: SigningKey, signature: str) -> None:
    assert verify(key.public_text, DATA, signature) is False


def test_verify_is_false_for_a_flipped_signature_byte(key: SigningKey) -> None:
    raw = bytearray(b64url_decode(key.sign(DATA)))
    raw[10] ^= 0x01

    assert verify(key.public_text, DATA, b64url_encode(bytes(raw))) is False


@pytest.mark.parametrize("public_text", ["", "short", "ä" * 43, "A" * 44, "A" * 60])
def test_verify_is_false_for_a_garbled_public_key(key: SigningKey, public_text: str) -> None:
    assert verify(public_text, DATA, key.sign(DATA)) is False


@pytest.mark.parametrize("text", ["", "AAAA", b64url_encode(b"x" * 31), b64url_encode(b"x" * 33)])
def test_keys_of_the_wrong_length_are_malformed(text: str) -> None:
    for parse in (private_key_from_text, public_key_from_text):
        with pytest.raises(ProtocolError) as err:
            parse(text)
        assert err.value.reason == MALFORMED
