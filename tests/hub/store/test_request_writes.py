"""A signed request's sequence accepted in the same transaction as the request's writes, and the
request path's writes committed together (SQLite) without losing any one's own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.reading_rules import ACCEPTED, Verdict
from sqlalchemy import event

from hub.store import Store
from hub.store.records import KeyIdentity, RequestSequence
from hub.store.store import RequestRefused
from tests.hub.store.factories import (
    INTERVAL,
    NOW,
    WINDOW,
    EnrolledHome,
    OpenStore,
    bid_message,
    enrol_home,
    reading,
)


def request(home: EnrolledHome, seq: int) -> RequestSequence:
    return RequestSequence(home.home_key.key_id, seq)


async def upload(
    store: Store, home: EnrolledHome, items: list[SignedMessage], seq: int
) -> list[Verdict]:
    """What POST /api/v1/readings stores: signatures are checked before (here: all good)."""
    return await store.ingest_readings(
        home.home_id, items, dict.fromkeys(range(len(items)), True), NOW, WINDOW, request(home, seq)
    )


async def refusal(call: Any) -> str:
    with pytest.raises(RequestRefused) as refused:
        await call
    return refused.value.reason


async def test_a_request_sequence_is_accepted_once_and_only_upwards(store: Store) -> None:
    home = await enrol_home(store)

    await store.accept_request(request(home, 5))

    assert await refusal(store.accept_request(request(home, 5))) == errors.REPLAY
    assert await refusal(store.accept_request(request(home, 4))) == errors.REPLAY
    await store.accept_request(request(home, 6))


async def test_revoked_homes_and_keys_and_unknown_keys_are_refused_by_name(store: Store) -> None:
    revoked_home, revoked_key = await enrol_home(store), await enrol_home(store, "No. 9")
    assert await store.revoke_home(revoked_home.home_id, NOW)  # revokes its keys as well
    assert await store.revoke_key(revoked_key.home_key.key_id, NOW)

    assert await refusal(store.accept_request(request(revoked_home, 1))) == errors.HOME_REVOKED
    assert await refusal(store.accept_request(request(revoked_key, 1))) == errors.REVOKED_KEY
    unknown = RequestSequence("0" * 32, 1)
    assert await refusal(store.accept_request(unknown)) == errors.UNKNOWN_KEY


async def test_revocation_says_why_a_key_is_refused_or_none(store: Store) -> None:
    good, bad = await enrol_home(store), await enrol_home(store, "No. 9")
    assert await store.revoke_home(bad.home_id, NOW)

    assert await store.revocation(good.home_key.key_id) is None
    refused = await store.revocation(bad.home_key.key_id)
    assert refused is not None and refused.reason == errors.HOME_REVOKED


async def test_key_identities_are_the_enrolled_keys_and_outlive_revocation(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    wanted = [home.home_key.key_id, meter.key_id, "f" * 32]

    before = await store.key_identities(wanted)
    assert await store.revoke_home(home.home_id, NOW)
    after = await store.key_identities(wanted)

    assert (
        before
        == after
        == {
            home.home_key.key_id: KeyIdentity(
                home.home_key.key_id, home.home_id, "home", home.home_key.public_text
            ),
            meter.key_id: KeyIdentity(meter.key_id, home.home_id, "grid", meter.public_text),
        }
    )


async def test_an_upload_under_a_used_request_sequence_stores_nothing(store: Store) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    assert [v.status for v in await upload(store, home, [reading(meter, 1, 100)], seq=3)] == [
        ACCEPTED
    ]

    assert await refusal(upload(store, home, [reading(meter, 2, 200)], seq=3)) == errors.REPLAY

    assert [r.seq for r in await store.readings_for(home.home_id)] == [1]
    assert [v.status for v in await upload(store, home, [reading(meter, 2, 200)], seq=4)] == [
        ACCEPTED
    ]


async def test_a_refused_bid_leaves_its_request_sequence_unspent(store: Store) -> None:
    home = await enrol_home(store)
    await store.save_bid(
        home.home_id, bid_message(home.home_key, 8), INTERVAL, NOW, request(home, 1)
    )

    with pytest.raises(ProtocolError) as refused:  # the bid's own sequence is a replay
        await store.save_bid(
            home.home_id, bid_message(home.home_key, 8), INTERVAL, NOW, request(home, 2)
        )

    assert refused.value.reason == errors.REPLAY
    assert not isinstance(refused.value, RequestRefused)  # the bid was refused, not the request
    await store.accept_request(request(home, 2))  # rolled back with the bid: still free


async def test_save_bid_says_whether_it_replaced_a_bid(store: Store) -> None:
    home = await enrol_home(store)

    first = await store.save_bid(home.home_id, bid_message(home.home_key, 1), INTERVAL, NOW)
    second = await store.save_bid(home.home_id, bid_message(home.home_key, 2), INTERVAL, NOW)

    assert (first, second) == (False, True)


async def test_two_processes_using_one_request_sequence_store_one_upload(
    open_store: OpenStore,
) -> None:
    first, second = await open_store(), await open_store()  # separate engines and write locks
    home = await enrol_home(first)
    meter = home.meters["main"]

    outcomes = await asyncio.gather(
        upload(first, home, [reading(meter, 1, 100)], seq=9),
        upload(second, home, [reading(meter, 2, 200)], seq=9),
        return_exceptions=True,
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["RequestRefused", "list"]
    assert len(await first.readings_for(home.home_id)) == 1


async def test_writes_arriving_together_commit_together_each_with_its_own_outcome(
    store: Store, backend: str
) -> None:
    homes = [await enrol_home(store, f"No. {n}") for n in range(12)]
    for home in homes:
        await store.accept_request(request(home, 5))
    refused_bid = homes[0]  # writes its request sequence, then fails on the bid's own sequence
    await store.save_bid(refused_bid.home_id, bid_message(refused_bid.home_key, 3), INTERVAL, NOW)
    commits = count_commits(store)

    outcomes = await asyncio.gather(
        store.save_bid(
            refused_bid.home_id,
            bid_message(refused_bid.home_key, 3),
            INTERVAL,
            NOW,
            request(refused_bid, 6),
        ),
        upload(store, homes[1], [reading(homes[1].meters["main"], 1, 10)], seq=5),  # used
        *(upload(store, h, [reading(h.meters["main"], 1, 10)], seq=6) for h in homes[2:]),
        return_exceptions=True,
    )

    assert [getattr(o, "reason", "ok") for o in outcomes] == [errors.REPLAY] * 2 + ["ok"] * 10
    assert [len(await store.readings_for(h.home_id)) for h in homes] == [0, 0] + [1] * 10
    await store.accept_request(request(refused_bid, 6))  # its failed write left nothing behind
    if backend == "sqlite":
        assert 0 < len(commits) < len(outcomes)


def count_commits(store: Store) -> list[None]:
    """The transactions the SQLite group commit ends with COMMIT from now on."""
    commits: list[None] = []
    group_commit = store._group_commit
    if group_commit is not None:
        event.listen(group_commit._engine, "commit", lambda _conn: commits.append(None))
    return commits


def count_statements(store: Store) -> list[str]:
    """The queries (SELECT) the store's engine runs from now on."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append(sql)

    event.listen(store._engine.sync_engine, "before_cursor_execute", record)
    return statements


async def test_a_home_enrolled_here_makes_its_first_request_without_a_key_lookup(
    store: Store,
) -> None:
    home = await enrol_home(store)
    statements = count_statements(store)

    known = await store.key_identities([home.home_key.key_id, home.meters["main"].key_id])

    assert set(known) == {home.home_key.key_id, home.meters["main"].key_id}
    assert statements == []


async def test_after_a_restart_one_lookup_finds_every_enrolled_key(open_store: OpenStore) -> None:
    first = await open_store()
    homes = [await enrol_home(first, f"No. {n}") for n in range(3)]
    restarted = await open_store()
    statements = count_statements(restarted)

    found = [await restarted.key_identities([h.home_key.key_id]) for h in homes]

    assert [list(f) for f in found] == [[h.home_key.key_id] for h in homes]
    assert len(statements) == 1


async def test_a_key_another_process_enrolled_later_is_still_found(
    open_store: OpenStore,
) -> None:
    this, other = await open_store(), await open_store()
    await this.key_identities(["f" * 32])  # loads what is enrolled so far: nothing
    late = await enrol_home(other)

    found = await this.key_identities([late.home_key.key_id])

    assert found[late.home_key.key_id].home_id == late.home_id
