"""Homes and keys: listing, revocation, and per-key replay protection."""

from __future__ import annotations

import asyncio
import random

import pytest

from hub.store import Store
from tests.hub.store.factories import NOW, OpenStore, enrol_home


async def test_list_homes_shows_every_home_with_its_keys(store: Store) -> None:
    first = await enrol_home(store, "No. 5", meters={"main": "grid"}, bus=1, now=NOW)
    second = await enrol_home(
        store, "No. 7", meters={"main": "grid", "roof": "pv", "car": "ev"}, now=NOW + 1
    )

    homes = await store.list_homes()

    assert [(h.home_id, h.name, h.bus) for h in homes] == [
        (first.home_id, "No. 5", 1),
        (second.home_id, "No. 7", None),
    ]
    assert [(k.name, k.kind) for k in homes[0].keys] == [("home", "home"), ("main", "grid")]
    assert sorted((k.name, k.kind, k.key_id) for k in homes[1].keys) == sorted(
        [
            ("home", "home", second.home_key.key_id),
            ("main", "grid", second.meters["main"].key_id),
            ("roof", "pv", second.meters["roof"].key_id),
            ("car", "ev", second.meters["car"].key_id),
        ]
    )


async def test_list_homes_can_be_narrowed_to_one_home(store: Store) -> None:
    await enrol_home(store, "No. 5")
    wanted = await enrol_home(store, "No. 7")

    homes = await store.list_homes(wanted.home_id)

    assert [h.name for h in homes] == ["No. 7"]
    assert {k.home_id for k in homes[0].keys} == {wanted.home_id}


async def test_unknown_homes_and_keys_are_none(store: Store) -> None:
    await enrol_home(store)

    assert await store.get_home("0" * 16) is None
    assert await store.get_key("0" * 32) is None
    assert await store.list_homes("0" * 16) == []


async def test_public_keys_maps_known_key_ids_only(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]

    found = await store.public_keys([meter.key_id, home.home_key.key_id, "f" * 32])

    assert found == {
        meter.key_id: meter.public_text,
        home.home_key.key_id: home.home_key.public_text,
    }


async def test_revoking_a_home_revokes_all_its_keys_and_no_one_elses(store: Store) -> None:
    home = await enrol_home(store, "No. 7", meters={"main": "grid", "roof": "pv"})
    neighbour = await enrol_home(store, "No. 5")

    assert await store.revoke_home(home.home_id, NOW + 10) is True

    revoked = await store.get_home(home.home_id)
    assert revoked is not None
    assert revoked.revoked_at == NOW + 10
    assert [k.revoked_at for k in revoked.keys] == [NOW + 10] * 3
    untouched = await store.get_home(neighbour.home_id)
    assert untouched is not None
    assert not untouched.revoked
    assert not any(k.revoked for k in untouched.keys)


async def test_revoking_a_home_twice_or_an_unknown_home_returns_false(store: Store) -> None:
    home = await enrol_home(store)
    await store.revoke_home(home.home_id, NOW + 10)

    assert await store.revoke_home(home.home_id, NOW + 20) is False
    assert await store.revoke_home("0" * 16, NOW) is False
    again = await store.get_home(home.home_id)
    assert again is not None
    assert again.revoked_at == NOW + 10  # the first revocation time stands


async def test_revoking_a_key_revokes_only_that_key(store: Store) -> None:
    home = await enrol_home(store, meters={"main": "grid", "roof": "pv"})
    roof = home.meters["roof"].key_id

    assert await store.revoke_key(roof, NOW + 10) is True

    record = await store.get_home(home.home_id)
    assert record is not None
    assert {k.name: k.revoked_at for k in record.keys} == {
        "home": None,
        "main": None,
        "roof": NOW + 10,
    }
    assert not record.revoked


async def test_revoking_a_key_twice_or_an_unknown_key_returns_false(store: Store) -> None:
    home = await enrol_home(store)
    key_id = home.meters["main"].key_id
    await store.revoke_key(key_id, NOW + 10)

    assert await store.revoke_key(key_id, NOW + 20) is False
    assert await store.revoke_key("0" * 32, NOW) is False
    key = await store.get_key(key_id)
    assert key is not None
    assert key.revoked_at == NOW + 10


# -- accept_sequence -----------------------------------------------------------------------------


async def test_a_key_sequence_must_strictly_increase(store: Store) -> None:
    key_id = (await enrol_home(store)).home_key.key_id

    results = [await store.accept_sequence(key_id, seq, "request") for seq in (5, 5, 4, 6, 100, 7)]

    assert results == [True, False, False, True, True, False]


async def test_the_first_sequence_of_a_key_may_be_zero(store: Store) -> None:
    key_id = (await enrol_home(store)).home_key.key_id

    assert await store.accept_sequence(key_id, 0, "request") is True
    assert await store.accept_sequence(key_id, 0, "request") is False


async def test_request_and_message_sequences_are_independent(store: Store) -> None:
    key_id = (await enrol_home(store)).home_key.key_id

    assert await store.accept_sequence(key_id, 100, "request") is True
    assert await store.accept_sequence(key_id, 5, "message") is True
    assert await store.accept_sequence(key_id, 6, "request") is False
    assert await store.accept_sequence(key_id, 5, "message") is False
    assert await store.accept_sequence(key_id, 101, "request") is True


async def test_sequences_are_tracked_per_key(store: Store) -> None:
    home = await enrol_home(store)
    other = await enrol_home(store, "No. 5")

    assert await store.accept_sequence(home.home_key.key_id, 50, "request") is True
    assert await store.accept_sequence(other.home_key.key_id, 1, "request") is True
    assert await store.accept_sequence(home.meters["main"].key_id, 1, "request") is True


async def test_an_unknown_key_never_has_its_sequence_accepted(store: Store) -> None:
    assert await store.accept_sequence("0" * 32, 1, "request") is False


async def test_a_sequence_survives_a_restart(open_store: OpenStore) -> None:
    store = await open_store()
    key_id = (await enrol_home(store)).home_key.key_id
    await store.accept_sequence(key_id, 42, "request")
    await store.close()

    restarted = await open_store()

    assert await restarted.accept_sequence(key_id, 42, "request") is False
    assert await restarted.accept_sequence(key_id, 43, "request") is True


async def test_of_concurrent_calls_with_the_same_sequence_exactly_one_wins(store: Store) -> None:
    key_id = (await enrol_home(store)).home_key.key_id

    results = await asyncio.gather(
        *(store.accept_sequence(key_id, 7, "request") for _ in range(20))
    )

    assert sorted(results) == [False] * 19 + [True]


async def test_concurrent_calls_with_different_sequences_end_at_the_highest(store: Store) -> None:
    key_id = (await enrol_home(store)).home_key.key_id
    seqs = list(range(1, 21))
    random.Random(4).shuffle(seqs)

    results = dict(
        zip(
            seqs,
            await asyncio.gather(*(store.accept_sequence(key_id, s, "request") for s in seqs)),
            strict=True,
        )
    )

    assert results[20] is True
    assert await store.accept_sequence(key_id, 20, "request") is False
    assert await store.accept_sequence(key_id, 21, "request") is True


async def test_two_hub_processes_racing_on_one_sequence_accept_it_once(
    open_store: OpenStore,
) -> None:
    first, second = await open_store(), await open_store()  # separate engines and write locks
    key_id = (await enrol_home(first)).home_key.key_id

    results = await asyncio.gather(
        *(s.accept_sequence(key_id, 9, "message") for s in [first, second] * 5)
    )

    assert sorted(results) == [False] * 9 + [True]


@pytest.mark.parametrize("scope", ["nonce", "reading"])
async def test_an_unknown_scope_is_a_programming_error(store: Store, scope: str) -> None:
    key_id = (await enrol_home(store)).home_key.key_id

    with pytest.raises(KeyError):
        await store.accept_sequence(key_id, 1, scope)
