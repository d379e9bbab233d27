"""Signed HTTP requests: the signature covers method, path with query, body digest, key, seq, ts."""

from __future__ import annotations

import pytest
from gridcoop_home.protocol.errors import MALFORMED, UNAUTHENTICATED, ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import (
    HEADER_DIGEST,
    HEADER_KEY_ID,
    HEADER_SEQ,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    content_digest,
    parse_request_signature,
    sign_request,
    signature_base,
)

KEY = SigningKey.generate()
PATH = "/v1/homes/me/bids?interval=1767225600"
BODY = b'{"interval_start":1767225600}'
SEQ = 1_767_225_600_000_001
TS = 1_767_225_600_000


@pytest.fixture
def headers() -> dict[str, str]:
    return sign_request(KEY, "POST", PATH, BODY, seq=SEQ, ts_ms=TS)


def test_signing_produces_the_five_headers(headers: dict[str, str]) -> None:
    assert headers[HEADER_KEY_ID] == KEY.key_id
    assert headers[HEADER_SEQ] == str(SEQ)
    assert headers[HEADER_TIMESTAMP] == str(TS)
    assert headers[HEADER_DIGEST] == content_digest(BODY)
    assert len(headers[HEADER_SIGNATURE]) == 86


def test_a_signed_request_round_trips_and_verifies(headers: dict[str, str]) -> None:
    signature = parse_request_signature(headers)

    assert (signature.key_id, signature.seq, signature.ts_ms) == (KEY.key_id, SEQ, TS)
    assert signature.valid_for(KEY.public_text, "POST", PATH, BODY)


def test_the_content_digest_is_rfc9530_sha256() -> None:
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def test_the_signature_base_lists_the_components_one_per_line() -> None:
    base = signature_base("post", "/a?b=1", "sha-256=:x:", "k1", 5, 6)

    assert base == b"gridcoop-request-v1\nPOST\n/a?b=1\nsha-256=:x:\nk1\n5\n6"


def test_a_changed_body_invalidates(headers: dict[str, str]) -> None:
    signature = parse_request_signature(headers)

    assert not signature.valid_for(KEY.public_text, "POST", PATH, BODY + b" ")


def test_a_changed_body_with_a_recomputed_digest_still_invalidates(
    headers: dict[str, str],
) -> None:
    forged = {**headers, HEADER_DIGEST: content_digest(b"{}")}

    assert not parse_request_signature(forged).valid_for(KEY.public_text, "POST", PATH, b"{}")


@pytest.mark.parametrize(
    "path", ["/v1/homes/me/bids", "/v1/homes/me/bids?interval=1767226500", "/v1/homes/other/bids"]
)
def test_a_changed_path_or_query_invalidates(headers: dict[str, str], path: str) -> None:
    assert not parse_request_signature(headers).valid_for(KEY.public_text, "POST", path, BODY)


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_a_changed_method_invalidates(headers: dict[str, str], method: str) -> None:
    assert not parse_request_signature(headers).valid_for(KEY.public_text, method, PATH, BODY)


def test_the_method_is_compared_case_insensitively(headers: dict[str, str]) -> None:
    assert parse_request_signature(headers).valid_for(KEY.public_text, "post", PATH, BODY)


@pytest.mark.parametrize(("header", "value"), [(HEADER_SEQ, str(SEQ + 1)), (HEADER_TIMESTAMP, "0")])
def test_a_changed_sequence_or_timestamp_invalidates(
    headers: dict[str, str], header: str, value: str
) -> None:
    tampered = {**headers, header: value}

    assert not parse_request_signature(tampered).valid_for(KEY.public_text, "POST", PATH, BODY)


def test_another_key_does_not_verify(headers: dict[str, str]) -> None:
    other = SigningKey.generate()

    assert not parse_request_signature(headers).valid_for(other.public_text, "POST", PATH, BODY)


@pytest.mark.parametrize(
    "header", [HEADER_KEY_ID, HEADER_SEQ, HEADER_TIMESTAMP, HEADER_DIGEST, HEADER_SIGNATURE]
)
def test_a_missing_or_empty_header_is_unauthenticated(headers: dict[str, str], header: str) -> None:
    for broken in ({k: v for k, v in headers.items() if k != header}, {**headers, header: ""}):
        with pytest.raises(ProtocolError) as err:
            parse_request_signature(broken)
        assert err.value.reason == UNAUTHENTICATED
        assert header in err.value.detail


def test_no_headers_at_all_is_unauthenticated() -> None:
    with pytest.raises(ProtocolError) as err:
        parse_request_signature({})

    assert err.value.reason == UNAUTHENTICATED


@pytest.mark.parametrize(("header", "value"), [(HEADER_SEQ, "12a"), (HEADER_TIMESTAMP, "soon")])
def test_non_integer_sequence_or_timestamp_headers_are_malformed(
    headers: dict[str, str], header: str, value: str
) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_request_signature({**headers, header: value})

    assert err.value.reason == MALFORMED
