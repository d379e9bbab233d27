"""Reading ingest (hub.service.readings): what the upload route and the simulator run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.reading_rules import ACCEPTED, DUPLICATE, REJECTED

from hub.config import HubConfig
from hub.service.readings import ingest, parse_upload
from hub.service.signatures import INLINE_SIGNATURES, prechecked
from hub.store import Store
from tests.hub.store.factories import NOW, enrol_home, reading


def statuses(result: Any) -> list[tuple[str, str | None]]:
    return [(verdict.status, verdict.reason) for verdict in result.verdicts]


async def test_an_upload_is_judged_item_by_item_and_counted(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    await ingest(store, config, home.home_id, [reading(meter, 1, 100)], NOW)

    result = await ingest(
        store,
        config,
        home.home_id,
        [reading(meter, 1, 100), reading(meter, 2, 150), reading(meter, 3, 90)],
        NOW,
    )

    assert statuses(result) == [
        (DUPLICATE, None),
        (ACCEPTED, None),
        (REJECTED, errors.REGISTER_DECREASED),
    ]
    wire = result.to_wire()
    assert (wire["accepted"], wire["duplicates"], wire["rejected"]) == (1, 1, 1)
    assert [r["index"] for r in wire["results"]] == [0, 1, 2]
    assert [r.seq for r in await store.readings_for(home.home_id)] == [1, 2]


async def test_a_reading_whose_signature_does_not_verify_is_rejected_alone(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    good = reading(meter, 1, 100)
    forged = replace(reading(meter, 2, 150), body={"import_wh": 9_999, "export_wh": 0})

    result = await ingest(store, config, home.home_id, [good, forged], NOW)

    assert statuses(result) == [(ACCEPTED, None), (REJECTED, errors.BAD_SIGNATURE)]


async def test_a_large_batch_is_checked_off_the_event_loop_with_the_same_verdicts(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    batch = [reading(meter, n, 100 * n) for n in range(1, 3 * INLINE_SIGNATURES)]
    batch[5] = replace(batch[5], body={"import_wh": 1, "export_wh": 0})

    result = await ingest(store, config, home.home_id, batch, NOW)

    assert [status for status, _reason in statuses(result)].count(ACCEPTED) == len(batch) - 1
    assert statuses(result)[5] == (REJECTED, errors.BAD_SIGNATURE)


async def test_the_simulators_verdicts_on_signatures_are_the_ones_that_count(
    store: Store, config: HubConfig
) -> None:
    home = await enrol_home(store)
    meter = home.meters["main"]
    batch = [reading(meter, 1, 100), reading(meter, 2, 150)]

    result = await ingest(
        store, config, home.home_id, batch, NOW, signatures=prechecked({0: True, 1: False})
    )

    assert statuses(result) == [(ACCEPTED, None), (REJECTED, errors.BAD_SIGNATURE)]


def test_an_upload_parses_each_reading_on_its_own() -> None:
    home_reading = reading_wire()

    items = parse_upload({"readings": [home_reading, {"v": 1}]}, max_batch=10)

    assert isinstance(items[0], SignedMessage)
    assert isinstance(items[1], ProtocolError)
    assert items[1].reason == errors.MALFORMED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], errors.MALFORMED),
        ({"readings": "all of them"}, errors.MALFORMED),
        ({"readings": []}, errors.MALFORMED),
        ({"readings": [{}] * 11}, errors.OUT_OF_BOUNDS),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_whole(body: Any, reason: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_upload(body, max_batch=10)

    assert refused.value.reason == reason


def reading_wire() -> dict[str, Any]:
    return reading(SigningKey.generate(), 1, 100).to_wire()
