"""Join codes and enrolment: one-time codes, stored hashed, all-or-nothing enrolment."""

from __future__ import annotations

import hashlib
import re

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.enrolment import Enrolment, build_enrolment, parse_enrolment
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey

from hub.store import Store
from tests.hub.store.factories import DAY, NOW, enrol_home, run_sql

CODE_PATTERN = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


def enrolment(
    code: str, *meter_keys: tuple[str, str, SigningKey], home_key: SigningKey | None = None
) -> Enrolment:
    body = build_enrolment(
        code,
        home_key or SigningKey.generate(),
        {name: (kind, key) for name, kind, key in meter_keys},
    )
    return parse_enrolment(body)


async def enrol_error(
    store: Store, code: str, now: int = NOW, home_key: SigningKey | None = None
) -> str:
    """Enrol with a fresh meter key; return the reason code of the refusal."""
    meter = ("main", "grid", SigningKey.generate())
    with pytest.raises(ProtocolError) as err:
        await store.enrol(enrolment(code, meter, home_key=home_key), now)
    return err.value.reason


async def test_a_join_code_is_twelve_unambiguous_characters_in_three_groups(store: Store) -> None:
    codes = {await store.create_join_code(f"home {i}", None, NOW, DAY) for i in range(20)}

    assert len(codes) == 20
    for code in codes:
        assert CODE_PATTERN.fullmatch(code), code
        assert len(code.replace("-", "")) == 12
        assert not set(code) & set("01IO")


async def test_a_join_code_is_stored_only_as_its_hash(store: Store, db_url: str) -> None:
    code = await store.create_join_code("No. 7", 3, NOW, DAY)

    rows = await run_sql(db_url, "SELECT * FROM join_codes")

    assert len(rows) == 1
    expected_hash = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    assert rows[0][0] == expected_hash
    stored = " ".join(str(value) for value in rows[0])
    assert code not in stored
    assert code.replace("-", "") not in stored
    for group in code.split("-"):
        assert group not in stored


async def test_a_join_code_records_name_bus_and_expiry(store: Store, db_url: str) -> None:
    await store.create_join_code("No. 7", 3, NOW, DAY)

    rows = await run_sql(
        db_url, "SELECT name, bus, created_at, expires_at, used_at, home_id FROM join_codes"
    )

    assert rows == [("No. 7", 3, NOW, NOW + DAY, None, None)]


async def test_enrolment_creates_the_home_with_its_home_and_meter_keys(store: Store) -> None:
    code = await store.create_join_code("No. 7", 2, NOW, DAY)
    home_key, grid, pv = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()

    home = await store.enrol(
        enrolment(code, ("main", "grid", grid), ("roof", "pv", pv), home_key=home_key), NOW + 5
    )

    assert (home.name, home.bus, home.created_at, home.revoked) == ("No. 7", 2, NOW + 5, False)
    assert re.fullmatch(r"[0-9a-f]{16}", home.home_id)
    assert {(k.name, k.kind, k.key_id, k.public_key) for k in home.keys} == {
        ("home", "home", home_key.key_id, home_key.public_text),
        ("main", "grid", grid.key_id, grid.public_text),
        ("roof", "pv", pv.key_id, pv.public_text),
    }
    assert all(k.home_id == home.home_id and not k.revoked for k in home.keys)
    assert await store.get_home(home.home_id) == home


async def test_the_code_is_accepted_in_lower_case_and_without_dashes(store: Store) -> None:
    code = await store.create_join_code("No. 7", None, NOW, DAY)

    home = await store.enrol(enrolment(code.replace("-", " ").lower()), NOW)

    assert home.name == "No. 7"


async def test_a_join_code_works_exactly_once(store: Store, db_url: str) -> None:
    code = await store.create_join_code("No. 7", None, NOW, DAY)
    first = await store.enrol(enrolment(code), NOW + 1)

    assert await enrol_error(store, code, NOW + 2) == errors.USED_JOIN_CODE
    assert [h.home_id for h in await store.list_homes()] == [first.home_id]
    assert await run_sql(db_url, "SELECT used_at, home_id FROM join_codes") == [
        (NOW + 1, first.home_id)
    ]


async def test_an_expired_join_code_is_refused_from_the_expiry_millisecond_on(
    store: Store,
) -> None:
    late = await store.create_join_code("late", None, NOW, ttl_ms=1_000)
    just_in_time = await store.create_join_code("on time", None, NOW, ttl_ms=1_000)

    assert await enrol_error(store, late, now=NOW + 1_000) == errors.EXPIRED_JOIN_CODE
    assert (await store.enrol(enrolment(just_in_time), NOW + 999)).name == "on time"
    assert [h.name for h in await store.list_homes()] == ["on time"]


async def test_an_unknown_join_code_is_refused(store: Store) -> None:
    await store.create_join_code("No. 7", None, NOW, DAY)

    assert await enrol_error(store, "AAAA-BBBB-CCCC") == errors.UNKNOWN_JOIN_CODE
    assert await store.list_homes() == []


async def test_a_key_already_enrolled_elsewhere_is_duplicate_key_and_nothing_is_left_behind(
    store: Store, db_url: str
) -> None:
    neighbour = await enrol_home(store, "No. 5")
    stolen = neighbour.meters["main"]
    code = await store.create_join_code("No. 7", None, NOW, DAY)

    with pytest.raises(ProtocolError) as err:
        await store.enrol(enrolment(code, ("main", "grid", stolen)), NOW)

    assert err.value.reason == errors.DUPLICATE_KEY
    assert [h.home_id for h in await store.list_homes()] == [neighbour.home_id]
    assert len(await run_sql(db_url, "SELECT key_id FROM keys")) == 2
    # The failed attempt did not burn the code: the home can retry with its own keys.
    home = await store.enrol(enrolment(code, ("main", "grid", SigningKey.generate())), NOW + 1)
    assert [h.name for h in await store.list_homes()] == ["No. 5", "No. 7"]
    assert len(home.keys) == 2


async def test_reusing_another_homes_home_key_is_duplicate_key(store: Store) -> None:
    neighbour = await enrol_home(store, "No. 5")
    code = await store.create_join_code("No. 7", None, NOW, DAY)

    assert await enrol_error(store, code, home_key=neighbour.home_key) == errors.DUPLICATE_KEY
    assert len(await store.list_homes()) == 1
