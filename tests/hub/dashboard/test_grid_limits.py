"""Dimming (issue 19.4): the operator caps a home's import and/or export for a time range with the
admin API; the clearing never allocates the home more, and the allocation carries the limit to the
home. 15-minute intervals: 4 kW for an interval is 1000 Wh."""

from __future__ import annotations

from typing import Any

import pytest
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.bids import BidCurves, BidStep
from gridcoop_home.protocol.grid_limit import GridLimit, net_power_w, within_grid_limit

from hub.service.grid_limits import cap_curves
from tests.hub.dashboard.support import DashHub, curves


def limit_body(interval: int, **values: Any) -> dict[str, Any]:
    return {"start": interval, "end": interval + 900, **values}


async def test_a_dimmed_home_is_allocated_no_more_than_its_limit(hub: DashHub) -> None:
    dimmed, other, seller = await hub.enrol(), await hub.enrol(), await hub.enrol()
    interval = hub.next_interval()
    reply = await hub.admin(
        "POST",
        "/api/v1/admin/grid-limits",
        limit_body(interval, home_id=dimmed.home_id, import_kw=4.2),
    )
    assert reply.status == 201, reply.body
    assert reply.body["import_kw"] == 4.2 and reply.body["export_kw"] is None
    await dimmed.client.submit_bid(interval, curves(buy=[(40, 2000), (25, 2000)]))
    await other.client.submit_bid(interval, curves(buy=[(40, 2000)]))
    await seller.client.submit_bid(interval, curves(sell=[(10, 5000)]))

    await hub.clear(interval)

    wire = await dimmed.client.result(interval)
    allocation = Allocation.from_wire(wire["allocation"])
    assert allocation.grid_limit == GridLimit(import_w=4200, export_w=None)
    assert allocation.bought_local_wh + allocation.bought_grid_wh == 1050  # 4.2 kW x 15 min
    untouched = (await other.client.result(interval))["allocation"]
    assert "grid_limit" not in untouched  # absent: no limit
    assert untouched["bought_local_wh"] + untouched["bought_grid_wh"] == 2000


async def test_a_limit_for_every_home_caps_exports_too(hub: DashHub) -> None:
    pv, buyer = await hub.enrol(), await hub.enrol()
    interval = hub.next_interval()
    await hub.admin("POST", "/api/v1/admin/grid-limits", limit_body(interval, export_kw=2))
    await pv.client.submit_bid(interval, curves(sell=[(5, 3000)]))  # the grid takes the rest
    await buyer.client.submit_bid(interval, curves(buy=[(40, 400)]))

    await hub.clear(interval)

    sold = (await pv.client.result(interval))["allocation"]
    assert sold["grid_limit"] == {"import_w": None, "export_w": 2000}
    assert sold["sold_local_wh"] + sold["sold_grid_wh"] == 500


async def test_limits_are_listed_and_lifted(hub: DashHub) -> None:
    interval = hub.next_interval()
    made = (
        await hub.admin("POST", "/api/v1/admin/grid-limits", limit_body(interval, import_kw=4.2))
    ).body

    listed = (await hub.admin("GET", "/api/v1/admin/grid-limits")).body
    assert listed == {"grid_limits": [made]}

    lifted = await hub.admin("DELETE", f"/api/v1/admin/grid-limits/{made['limit_id']}")
    assert (lifted.status, lifted.body) == (200, {"grid_limits": []})
    again = await hub.admin("DELETE", f"/api/v1/admin/grid-limits/{made['limit_id']}")
    assert again.status == 404


async def test_a_lifted_or_expired_limit_no_longer_caps(hub: DashHub) -> None:
    home, seller = await hub.enrol(), await hub.enrol()
    interval = hub.next_interval()
    earlier = {"start": interval - 1800, "end": interval}  # ends as the interval starts
    await hub.admin("POST", "/api/v1/admin/grid-limits", {**earlier, "import_kw": 0})
    await home.client.submit_bid(interval, curves(buy=[(40, 2000)]))
    await seller.client.submit_bid(interval, curves(sell=[(10, 5000)]))

    await hub.clear(interval)

    allocation = (await home.client.result(interval))["allocation"]
    assert "grid_limit" not in allocation and allocation["bought_local_wh"] == 2000


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"start": 0}, 422, "end"),
        ({"start": 10, "end": 5, "import_kw": 1}, 422, "end must be after start"),
        ({"start": 0, "end": 100, "import_kw": 1}, 422, "end is in the past"),
        ({"start": "now", "end": 5, "import_kw": 1}, 422, "start"),
        ({"import_kw": -1}, 422, "import_kw"),
        ({"import_kw": None}, 422, "import_kw, export_kw or both"),
        ({"colour": "red"}, 422, "send an object"),
        ([], 400, "JSON object"),
    ],
)
async def test_a_wrong_limit_is_refused_naming_the_field(
    hub: DashHub, body: Any, status: int, names: str
) -> None:
    interval = hub.next_interval()
    if isinstance(body, dict) and "start" not in body:
        body = limit_body(interval, **body)

    reply = await hub.admin("POST", "/api/v1/admin/grid-limits", body)

    assert reply.status == status
    assert names in reply.body["detail"]


async def test_an_unknown_home_is_404(hub: DashHub) -> None:
    body = limit_body(hub.next_interval(), home_id="0123456789abcdef", import_kw=4.2)

    reply = await hub.admin("POST", "/api/v1/admin/grid-limits", body)

    assert reply.status == 404


def test_capping_keeps_the_dearest_purchases_and_a_load_whole() -> None:
    bid = BidCurves(
        buy=(
            BidStep(50, 600, "ev"),
            BidStep(40, 800, "load:dishwasher"),
            BidStep(30, 500, "battery"),
        ),
        sell=(BidStep(5, 700, "pv"), BidStep(9, 700, "battery")),
    )

    capped = cap_curves(bid, GridLimit(import_w=4000, export_w=4000), 900)  # 1000 Wh each way

    assert capped.buy == (BidStep(50, 600, "ev"),)  # the dishwasher does not fit whole
    assert capped.sell == (BidStep(5, 700, "pv"), BidStep(9, 300, "battery"))


async def test_the_home_library_holds_the_hubs_dispatch_within_the_limit(hub: DashHub) -> None:
    """The seam hub -> home: the allocation the hub sends, read by the home library, dispatches
    within the limit even with a base load the bid did not expect."""
    home, seller = await hub.enrol(), await hub.enrol()
    interval = hub.next_interval()
    body = limit_body(interval, home_id=home.home_id, import_kw=4.2)
    await hub.admin("POST", "/api/v1/admin/grid-limits", body)
    bid = BidCurves(
        buy=(BidStep(40, 2750, "ev"), BidStep(30, 750, "battery")),  # 11 kW + 3 kW
        sell=(),
    )
    await home.client.submit_bid(interval, bid)
    await seller.client.submit_bid(interval, curves(sell=[(10, 5000)]))

    await hub.clear(interval)

    allocation = Allocation.from_wire((await home.client.result(interval))["allocation"])
    assert net_power_w(allocation.dispatch) <= 4200  # the hub's clearing kept it
    held = within_grid_limit(allocation.dispatch, allocation.grid_limit, other_w=800)
    assert net_power_w(held, 800) <= 4200
    # The hub kept 1050 Wh of the EV's step and none of the battery's; the home's base load
    # (800 W) then takes from the EV's share.
    assert {c.device: (c.action, c.power_w) for c in held} == {
        "battery": ("idle", 0),
        "ev": ("charge", 3400),
    }
