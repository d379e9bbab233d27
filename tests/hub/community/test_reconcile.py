"""Reconciliation of DSO values with the hub's signed readings: a tampered DSO value, a missing
signed reading and a missing DSO value are all listed; nothing is changed."""

from __future__ import annotations

from pathlib import Path

from hub.community.dso import DsoValues
from hub.community.hub_readings import meter_timelines
from hub.community.model import Direction, Method
from hub.community.reconcile import DIFFERS, MISSING_DSO, MISSING_HUB, reconcile
from hub.store import Store
from tests.hub.community.support import community, member
from tests.hub.store.factories import NOW, WINDOW, enrol_home, reading, signatures

HOUR_AGO = NOW // 1000 - 3600  # a quarter-hour start, in seconds
QH = 900
GAP_MS = 3_600_000
C = Direction.CONSUMPTION


async def store_with_readings(tmp_path: Path, registers: list[int]) -> tuple[Store, str]:
    """A hub with one home whose grid meter read `registers` (import Wh) every quarter-hour."""
    store = await Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    home = await enrol_home(store)
    meter = home.meters["main"]
    items = [
        reading(meter, seq, wh, 0, ts=(HOUR_AGO + (seq - 1) * QH) * 1000)
        for seq, wh in enumerate(registers, start=1)
    ]
    keys = await store.public_keys({item.key_id for item in items})
    await store.ingest_readings(home.home_id, items, signatures(items, keys), NOW, WINDOW)
    return store, meter.key_id


async def test_tampered_and_missing_values_on_either_side_are_listed(tmp_path: Path) -> None:
    # hub deltas per quarter-hour: 100, 150, 50, and none for the last (no reading after it)
    store, meter = await store_with_readings(tmp_path, [1000, 1100, 1250, 1300])
    try:
        timelines = await meter_timelines(store, {meter}, 0, NOW)
    finally:
        await store.close()
    lindenhof = community(Method.STATIC, member("a", hub_meter=meter))
    dso: DsoValues = {
        ("AT-a", C, HOUR_AGO): 100,  # agrees
        ("AT-a", C, HOUR_AGO + QH): 180,  # tampered: the hub measured 150
        # HOUR_AGO + 2 QH: the DSO file has no value; the hub measured 50
        ("AT-a", C, HOUR_AGO + 3 * QH): 70,  # no signed reading closes this quarter-hour
    }
    findings = reconcile(lindenhof, dso, timelines, HOUR_AGO, HOUR_AGO + 4 * QH, 0, GAP_MS)
    assert [(f.start - HOUR_AGO, f.status, f.dso_wh, f.hub_wh) for f in findings] == [
        (QH, DIFFERS, 180, 150),
        (2 * QH, MISSING_DSO, None, 50),
        (3 * QH, MISSING_HUB, 70, None),
    ]
    assert "differs: DSO 180 Wh, hub 150 Wh" in str(findings[0])
    assert dso[("AT-a", C, HOUR_AGO + QH)] == 180  # listed, never corrected

    tolerant = reconcile(lindenhof, dso, timelines, HOUR_AGO, HOUR_AGO + 4 * QH, 30, GAP_MS)
    assert [f.status for f in tolerant] == [MISSING_DSO, MISSING_HUB]


async def test_members_without_a_hub_meter_are_not_reconciled(tmp_path: Path) -> None:
    lindenhof = community(Method.STATIC, member("a"))
    assert reconcile(lindenhof, {}, {}, HOUR_AGO, HOUR_AGO + QH, 0, GAP_MS) == []
