"""Known-answer vectors: the exact bytes, hashes and signatures other implementations must match.

The Ed25519 key and signature are RFC 8032's TEST 2; the rest were computed once outside this code
with coreutils and OpenSSL 3 (`openssl pkeyutl -sign -rawin` over the canonical bytes written out
by hand, `sha256sum`), so a change in the encodings, the envelope's fields or the hashing fails
here even when signing and verifying still agree with each other.
"""

from __future__ import annotations

from gridcoop_home.ledger.block import BlockHeader
from gridcoop_home.protocol.canonical import canonical_json
from gridcoop_home.protocol.envelope import sign_message
from gridcoop_home.protocol.keys import SigningKey, b64url_decode, verify

# RFC 8032, 7.1, TEST 2
RFC_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
RFC_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
RFC_SIGNATURE_OF_72 = (
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
# The same key in GridCoop's texts: base64url without padding; key id = SHA-256(public)[:16] hex.
KEY_TEXT = "TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs"
PUBLIC_TEXT = "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw"
KEY_ID = "39f713d0a644253f04529421b9f51b9b"

READING_BYTES = (
    b'{"body":{"export_wh":35,"import_wh":1200},"key_id":"39f713d0a644253f04529421b9f51b9b",'
    b'"seq":17,"ts":1767225600000,"type":"reading","v":1}'
)
READING_SIG = (
    "Sn64CB4jYEr34UlCJMmM_xIUoWEK5Ane6yaPJ4yMI3H2E5tm683C3rWXUnrr13N8f_hWaEhK2wtJqjEogmuPCQ"
)
READING_DIGEST = "494b101a341d429d294004f8baa90b0e589bc351995e6a8ea88f387d5cbecdde"

ROOT_OF_3 = "94fbd0dd836f50301692e6d0eade728ee19ec52bfff1606ed807c8575d5aaa19"  # test_merkle.py
BLOCK_HASH = "e4ba5c43db592bb9d10f5af3b249e1bb2eb0d1bd84e215359495d11d0264db7d"


def rfc_key() -> SigningKey:
    return SigningKey.from_text(KEY_TEXT)


def test_the_rfc_8032_key_in_gridcoop_texts() -> None:
    key = rfc_key()
    assert b64url_decode(KEY_TEXT).hex() == RFC_SEED
    assert b64url_decode(key.public_text).hex() == RFC_PUBLIC
    assert key.public_text == PUBLIC_TEXT
    assert key.key_id == KEY_ID


def test_the_rfc_8032_signature() -> None:
    signature = rfc_key().sign(bytes.fromhex("72"))
    assert b64url_decode(signature).hex() == RFC_SIGNATURE_OF_72
    assert verify(PUBLIC_TEXT, bytes.fromhex("72"), signature)


def test_a_signed_reading_has_fixed_bytes_signature_and_digest() -> None:
    message = sign_message(
        rfc_key(), "reading", {"import_wh": 1200, "export_wh": 35}, seq=17, ts=1_767_225_600_000
    )
    assert canonical_json(message.unsigned()) == READING_BYTES
    assert message.sig == READING_SIG
    assert message.digest == READING_DIGEST
    assert verify(PUBLIC_TEXT, READING_BYTES, READING_SIG)


def test_a_block_hash_covers_the_domain_and_the_canonical_header() -> None:
    header = BlockHeader(
        height=1,
        prev_hash="0" * 64,
        merkle_root=ROOT_OF_3,
        time_ms=1_767_225_600_000,
        entry_count=3,
        interval_start=1_767_225_600,
    )
    assert header.hash == BLOCK_HASH
