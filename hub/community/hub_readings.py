"""The hub's signed readings of the meters a community maps, as register timelines."""

from __future__ import annotations

from collections.abc import Collection

from hub.ledger.accounts.meters import MeterTimeline
from hub.store import Store

PAGE = 1000


class UnknownMeterError(LookupError):
    pass


async def meter_timelines(
    store: Store, meters: Collection[str], since_ms: int, until_ms: int
) -> dict[str, MeterTimeline]:
    """Readings of `meters` (key ids) with since_ms <= ts <= until_ms, as timelines. A key id the
    hub does not know raises UnknownMeterError naming it."""
    home_of = {key.key_id: home.home_id for home in await store.list_homes() for key in home.keys}
    unknown = sorted(set(meters) - set(home_of))
    if unknown:
        raise UnknownMeterError(f"hub_meter {', '.join(unknown)}: no such meter key in the hub")
    timelines = {meter: MeterTimeline() for meter in meters}
    for home_id in sorted({home_of[m] for m in meters}):
        seen: set[tuple[str, int]] = set()
        cursor = since_ms
        while True:
            page = await store.readings_for(home_id, cursor, PAGE)
            fresh = [r for r in page if (r.meter_key_id, r.seq) not in seen and r.ts <= until_ms]
            for record in fresh:
                seen.add((record.meter_key_id, record.seq))
                if record.meter_key_id in timelines:
                    timelines[record.meter_key_id].add(
                        record.seq, record.ts, record.import_wh, record.export_wh
                    )
            if len(page) < PAGE or not fresh:
                break
            cursor = page[-1].ts
    return timelines
