"""Meter readings: signed by the meter, judged one by one, stored exactly once and in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gridcoop_home.client.hub import HubError
from gridcoop_home.protocol.envelope import SignedMessage, sign_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import Registers, sign_reading

from hub.config import HubConfig
from tests.hub.server.conftest import MakeHub
from tests.hub.server.support import FakeClock, Home, Hub

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def statuses(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("reason")) for r in answer["results"]]


async def stored(home: Home) -> list[tuple[int, int, int]]:
    return [(r["seq"], r["import_wh"], r["export_wh"]) for r in await home.client.readings()]


async def test_valid_batch_is_accepted_and_stored_in_order(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol(meters=("grid", "pv"))
    grid, pv = home.meter("grid"), home.meter("pv")
    now = clock.ms()
    batch = [
        grid.reading(1000, 10, ts_ms=now - 2000),
        pv.reading(0, 400, ts_ms=now - 1500),
        grid.reading(1010, 12, ts_ms=now - 1000),
    ]

    answer = await home.client.upload_readings(batch)

    assert answer["results"] == [
        {"index": 0, "status": "accepted"},
        {"index": 1, "status": "accepted"},
        {"index": 2, "status": "accepted"},
    ]
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (3, 0, 0)
    readings = await home.client.readings()
    assert [(r["meter_key_id"], r["ts"], r["import_wh"], r["export_wh"]) for r in readings] == [
        (grid.key.key_id, now - 2000, 1000, 10),
        (pv.key.key_id, now - 1500, 0, 400),
        (grid.key.key_id, now - 1000, 1010, 12),
    ]
    assert [r["digest"] for r in readings] == [m.digest for m in batch]


async def test_identical_batch_resent_is_all_duplicate_and_stored_once(hub: Hub) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    batch = [meter.reading(100, 0), meter.reading(105, 0), meter.reading(111, 1)]
    await home.client.upload_readings(batch)
    before = await home.client.readings()

    again = await home.client.upload_readings(batch)

    assert statuses(again) == [("duplicate", None)] * 3
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 0)
    assert await home.client.readings() == before
    assert len(before) == 3
    assert await hub.store.count_readings() == 3


async def test_decreasing_register_is_rejected_and_changes_nothing(hub: Hub) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    await home.client.upload_readings([meter.reading(500, 50)])

    import_down = await home.client.upload_readings([meter.reading(499, 50)])
    export_down = await home.client.upload_readings([meter.reading(500, 49)])

    assert statuses(import_down) == [("rejected", "register_decreased")]
    assert statuses(export_down) == [("rejected", "register_decreased")]
    assert [(i, e) for _, i, e in await stored(home)] == [(500, 50)]
    # the meter state did not move: equal registers are still fine
    assert statuses(await home.client.upload_readings([meter.reading(500, 50)])) == [
        ("accepted", None)
    ]


async def test_replayed_sequence_with_different_content_is_rejected_replay(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    key = home.meters[0].key
    original = sign_reading(key, Registers(100, 0), seq=7, ts_ms=clock.ms())
    await home.client.upload_readings([original])

    same_seq = sign_reading(key, Registers(200, 0), seq=7, ts_ms=clock.ms())
    lower_seq = sign_reading(key, Registers(300, 0), seq=6, ts_ms=clock.ms())
    answer = await home.client.upload_readings([same_seq, lower_seq])

    assert statuses(answer) == [("rejected", "replay"), ("rejected", "replay")]
    assert await stored(home) == [(7, 100, 0)]


async def test_reading_signed_by_another_homes_meter_is_rejected_key_not_yours(hub: Hub) -> None:
    home, neighbour = await hub.enrol(), await hub.enrol()
    theirs = neighbour.meters[0].reading(100, 0)

    answer = await home.client.upload_readings([theirs])

    assert statuses(answer) == [("rejected", "key_not_yours")]
    assert await stored(home) == []
    assert await stored(neighbour) == []
    # and the neighbour's meter state is untouched: it can still send that very reading
    assert statuses(await neighbour.client.upload_readings([theirs])) == [("accepted", None)]


async def test_reading_signed_by_revoked_meter_key_is_rejected_revoked_key(hub: Hub) -> None:
    home = await hub.enrol(meters=("grid", "pv"))
    assert await hub.store.revoke_key(home.meter("pv").key.key_id, hub.now_ms())

    answer = await home.client.upload_readings(
        [home.meter("pv").reading(0, 10), home.meter("grid").reading(10, 0)]
    )

    assert statuses(answer) == [("rejected", "revoked_key"), ("accepted", None)]
    assert [r["meter_key_id"] for r in await home.client.readings()] == [
        home.meter("grid").key.key_id
    ]


async def test_reading_signed_by_the_home_key_is_rejected_wrong_key_kind(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    by_home_key = sign_reading(home.key, Registers(1, 0), seq=1, ts_ms=clock.ms())
    answer = await home.client.upload_readings([by_home_key])
    assert statuses(answer) == [("rejected", "wrong_key_kind")]


async def test_reading_from_unknown_key_is_rejected_unknown_key(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    stranger = sign_reading(SigningKey.generate(), Registers(1, 0), seq=1, ts_ms=clock.ms())
    answer = await home.client.upload_readings([stranger])
    assert statuses(answer) == [("rejected", "unknown_key")]


async def test_forged_reading_signature_is_rejected_bad_signature(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    genuine = meter.reading(100, 0)
    altered_body = SignedMessage(**{**_fields(genuine), "body": {"import_wh": 1, "export_wh": 0}})
    forged = sign_message(SigningKey.generate(), "reading", {"import_wh": 5, "export_wh": 0}, 1, 0)
    wrong_signer = SignedMessage(
        **{**_fields(forged), "key_id": meter.key.key_id, "ts": clock.ms(), "seq": 10**18}
    )

    answer = await home.client.upload_readings([altered_body, wrong_signer])

    assert statuses(answer) == [("rejected", "bad_signature"), ("rejected", "bad_signature")]
    assert await stored(home) == []
    # the forgery with a huge sequence did not advance the meter's sequence
    assert statuses(await home.client.upload_readings([genuine])) == [("accepted", None)]


def _fields(message: SignedMessage) -> dict[str, Any]:
    return {f: getattr(message, f) for f in ("type", "key_id", "seq", "ts", "body", "sig", "v")}


async def test_backlog_hours_old_is_accepted_in_order(hub: Hub, clock: FakeClock) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    now = clock.ms()
    backlog = [meter.reading(1000 + 10 * h, 0, ts_ms=now - (6 - h) * HOUR_MS) for h in range(6)]

    answer = await home.client.upload_readings(backlog)

    assert statuses(answer) == [("accepted", None)] * 6
    readings = await home.client.readings()
    assert [r["ts"] for r in readings] == [now - (6 - h) * HOUR_MS for h in range(6)]
    assert [r["import_wh"] for r in readings] == [1000, 1010, 1020, 1030, 1040, 1050]


async def test_backlog_older_than_7_days_is_rejected_timestamp_too_old(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    now = clock.ms()
    assert hub.config.reading_max_age_ms == 7 * DAY_MS

    answer = await home.client.upload_readings(
        [
            meter.reading(10, 0, ts_ms=now - 7 * DAY_MS - 1),
            meter.reading(20, 0, ts_ms=now - 7 * DAY_MS),  # exactly 7 days: still accepted
            meter.reading(30, 0, ts_ms=now - HOUR_MS),
        ]
    )

    assert statuses(answer) == [
        ("rejected", "timestamp_too_old"),
        ("accepted", None),
        ("accepted", None),
    ]
    assert [i for _, i, _ in await stored(home)] == [20, 30]


async def test_reading_more_than_a_minute_ahead_is_rejected_timestamp_in_future(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    answer = await home.client.upload_readings(
        [
            meter.reading(10, 0, ts_ms=clock.ms() + 60_001),
            meter.reading(10, 0, ts_ms=clock.ms() + 60_000),
        ]
    )
    assert statuses(answer) == [("rejected", "timestamp_in_future"), ("accepted", None)]


async def test_reading_older_than_the_last_accepted_is_rejected_time_went_backwards(
    hub: Hub, clock: FakeClock
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    await home.client.upload_readings([meter.reading(10, 0, ts_ms=clock.ms())])
    answer = await home.client.upload_readings([meter.reading(11, 0, ts_ms=clock.ms() - 1)])
    assert statuses(answer) == [("rejected", "time_went_backwards")]


async def test_mixed_batch_gets_per_item_verdicts_in_order_and_stores_only_good_items(
    hub: Hub, clock: FakeClock
) -> None:
    home, neighbour = await hub.enrol(), await hub.enrol()
    meter = home.meters[0]
    good1 = meter.reading(100, 0)
    decreased = meter.reading(90, 0)
    good2 = meter.reading(120, 0)
    not_an_envelope = {"hello": "world"}
    theirs = neighbour.meters[0].reading(5, 0)

    answer = await hub.signed(
        home.key,
        "POST",
        "/api/v1/readings",
        {
            "readings": [
                good1.to_wire(),
                decreased.to_wire(),
                good2.to_wire(),
                not_an_envelope,
                good1.to_wire(),
                theirs.to_wire(),
            ]
        },
    )

    assert answer.status == 200
    assert [(r["index"], r["status"], r.get("reason")) for r in answer.body["results"]] == [
        (0, "accepted", None),
        (1, "rejected", "register_decreased"),
        (2, "accepted", None),
        (3, "rejected", "malformed"),
        (4, "duplicate", None),
        (5, "rejected", "key_not_yours"),
    ]
    assert (answer.body["accepted"], answer.body["duplicates"], answer.body["rejected"]) == (
        2,
        1,
        3,
    )
    assert all(r["detail"] for r in answer.body["results"] if r["status"] == "rejected")
    assert [(i, e) for _, i, e in await stored(home)] == [(100, 0), (120, 0)]
    assert await hub.store.count_readings() == 2


async def test_empty_batch_is_400_malformed(hub: Hub) -> None:
    home = await hub.enrol()
    with pytest.raises(HubError) as refusal:
        await home.client.upload_readings([])
    assert (refusal.value.status, refusal.value.reason) == (400, "malformed")


@pytest.mark.parametrize(
    "body", [[], {"readings": "many"}, {"reading": []}, b"\xff\xfe", b'{"readings": [']
)
async def test_batch_that_is_not_a_readings_list_is_400_malformed(hub: Hub, body: Any) -> None:
    home = await hub.enrol()
    reply = await hub.signed(home.key, "POST", "/api/v1/readings", body)
    assert (reply.status, reply.body["error"]) == (400, "malformed")


async def test_batch_above_max_batch_is_422_out_of_bounds_and_nothing_is_stored(
    make_hub: MakeHub, clock: FakeClock
) -> None:
    hub = await make_hub(HubConfig(max_batch=5))
    home = await hub.enrol()
    meter = home.meters[0]

    with pytest.raises(HubError) as refusal:
        await home.client.upload_readings([meter.reading(n, 0) for n in range(6)])
    assert (refusal.value.status, refusal.value.reason) == (422, "out_of_bounds")
    assert await hub.store.count_readings() == 0

    at_limit = await home.client.upload_readings([meter.reading(10 + n, 0) for n in range(5)])
    assert at_limit["accepted"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"import_wh": 1.5, "export_wh": 0},
        {"import_wh": 100, "export_wh": 0.5},
        {"import_wh": "100", "export_wh": 0},
        {"import_wh": True, "export_wh": 0},
        {"import_wh": -1, "export_wh": 0},
        {"import_wh": 1},
        {"import_wh": 1, "export_wh": 0, "volts": 230},
    ],
)
async def test_non_integer_or_missing_register_is_rejected_malformed_per_item(
    hub: Hub, clock: FakeClock, body: dict[str, Any]
) -> None:
    home = await hub.enrol()
    meter = home.meters[0]
    bad = signed_anyway(meter.key, body, clock.ms())
    good = meter.reading(200, 0)

    reply = await hub.signed(
        home.key, "POST", "/api/v1/readings", {"readings": [bad, good.to_wire()]}
    )

    assert reply.status == 200
    assert [(r["status"], r.get("reason")) for r in reply.body["results"]] == [
        ("rejected", "malformed"),
        ("accepted", None),
    ]
    assert [(i, e) for _, i, e in await stored(home)] == [(200, 0)]


async def test_a_whole_number_written_with_a_fraction_is_that_integer(
    hub: Hub, clock: FakeClock
) -> None:
    """JSON has one number two: `2.0` spells it as well as `2` (and the OpenAPI document's
    integers admit both), so a reading signed over its canonical integers and sent as
    `"export_wh": 0.0` is the same reading and is accepted; 0.5 is not an integer (above)."""
    home = await hub.enrol()
    wire = home.meters[0].reading(100, 0).to_wire()
    text = json.dumps({"readings": [wire]}).replace('"export_wh": 0', '"export_wh": 0.0')
    assert '"export_wh": 0.0' in text
    reply = await hub.signed(home.key, "POST", "/api/v1/readings", text.encode())
    assert reply.status == 200
    assert [r["status"] for r in reply.body["results"]] == ["accepted"]
    assert (await home.client.readings())[0]["export_wh"] == 0


def signed_anyway(key: SigningKey, body: dict[str, Any], ts_ms: int) -> dict[str, Any]:
    """A reading envelope with this body, correctly signed whenever canonical JSON allows it."""
    try:
        return sign_message(key, "reading", body, seq=1, ts=ts_ms).to_wire()
    except ProtocolError:  # floats cannot be signed canonically; send them unsigned
        envelope = {"v": 1, "type": "reading", "key_id": key.key_id, "seq": 1, "ts": ts_ms}
        return {**envelope, "body": body, "sig": "AAAA"}


async def test_readings_are_private_to_their_home(hub: Hub) -> None:
    home, neighbour = await hub.enrol(), await hub.enrol()
    await home.client.upload_readings([home.meters[0].reading(1, 0)])
    assert len(await home.client.readings()) == 1
    assert await neighbour.client.readings() == []


async def test_body_above_2_mib_is_413_with_a_json_error(hub: Hub) -> None:
    home = await hub.enrol()
    reading = home.meters[0].reading(1, 0).to_wire()
    huge = {"readings": [reading] * 12_000}  # ~2.5 MiB

    reply = await hub.signed(home.key, "POST", "/api/v1/readings", huge)

    assert reply.status == 413
    # the code comes from aiohttp's reason phrase, which newer aiohttp spells per RFC 9110
    assert reply.body["error"] in {"content_too_large", "request_entity_too_large"}
    assert await hub.store.count_readings() == 0
