"""Canonical JSON: the exact bytes that are hashed and signed."""

from __future__ import annotations

import hashlib
import json

import pytest
from gridcoop_home.protocol.canonical import canonical_json, digest, sha256_hex
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError
from hypothesis import given
from hypothesis import strategies as st


def test_keys_are_sorted_at_every_level_and_there_is_no_whitespace() -> None:
    value = {"b": 1, "a": [3, {"z": None, "y": True}], "c": {"k": "v", "j": False}}

    assert canonical_json(value) == (b'{"a":[3,{"y":true,"z":null}],"b":1,"c":{"j":false,"k":"v"}}')


def test_the_same_value_gives_the_same_bytes_whatever_the_insertion_order() -> None:
    first = {"seq": 1, "body": {"import_wh": 5, "export_wh": 0}, "ts": 2}
    second = {"ts": 2, "body": {"export_wh": 0, "import_wh": 5}, "seq": 1}

    assert canonical_json(first) == canonical_json(second)
    assert digest(first) == digest(second)


def test_text_is_utf8_without_ascii_escapes() -> None:
    assert canonical_json({"name": "Küche ☀"}) == '{"name":"Küche ☀"}'.encode()


def test_big_integers_keep_every_digit() -> None:
    assert canonical_json([2**70, -(2**63)]) == b"[1180591620717411303424,-9223372036854775808]"


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (1.5, "$"),
        (1.0, "$"),
        (float("nan"), "$"),
        ({"a": 0.5}, "$.a"),
        ([1, 2, 3.0], "$[2]"),
        ({"body": {"steps": [{"price": 1, "energy_wh": 2.5}]}}, "$.body.steps[0].energy_wh"),
    ],
)
def test_floats_are_rejected_anywhere_and_the_error_names_where(value: object, path: str) -> None:
    with pytest.raises(ProtocolError) as err:
        canonical_json(value)

    assert err.value.reason == MALFORMED
    assert err.value.detail.startswith(f"{path} is a float")


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {"outer": {None: 1}}, [{"ok": 1}, {(1, 2): 2}], {True: 1}],
)
def test_non_string_keys_are_rejected_even_when_nested(value: object) -> None:
    with pytest.raises(ProtocolError) as err:
        canonical_json(value)

    assert err.value.reason == MALFORMED
    assert "non-string key" in err.value.detail


@pytest.mark.parametrize("value", [(1, 2), {1, 2}, b"bytes", {"a": object()}])
def test_values_json_cannot_carry_exactly_are_rejected(value: object) -> None:
    with pytest.raises(ProtocolError) as err:
        canonical_json(value)

    assert err.value.reason == MALFORMED
    assert "unsupported type" in err.value.detail


def test_digest_is_the_hex_sha256_of_the_canonical_bytes_and_is_stable() -> None:
    # Golden values: changing the encoding would break every stored digest and signature.
    assert digest({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert digest({"a": 1}) == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    value = {"z": [1, "x"], "a": {"b": None}}
    assert digest(value) == hashlib.sha256(canonical_json(value)).hexdigest()
    assert sha256_hex(b"{}") == digest({})


def test_different_values_give_different_digests() -> None:
    assert digest({"seq": 1}) != digest({"seq": 2})
    assert digest([1, 2]) != digest([2, 1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=25,
)


@given(json_values)
def test_canonical_json_is_a_fixed_point_of_a_json_round_trip(value: object) -> None:
    encoded = canonical_json(value)

    assert canonical_json(json.loads(encoded)) == encoded


@given(st.dictionaries(st.text(), st.integers(), max_size=8))
def test_insertion_order_never_changes_the_bytes(value: dict[str, int]) -> None:
    reversed_order = dict(reversed(list(value.items())))

    assert canonical_json(reversed_order) == canonical_json(value)


@given(json_values)
def test_the_bytes_are_the_standard_librarys_sorted_compact_utf8_json(value: object) -> None:
    # the fast encoder (orjson) must never drift from the definition every signer relies on
    definition = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert canonical_json(value) == definition.encode()
