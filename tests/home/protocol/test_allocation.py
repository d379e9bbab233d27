"""The allocation: one typed model from the hub's clearing to the home, and its wire form."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from gridcoop_home.protocol.allocation import WIRE_FIELDS, Allocation
from gridcoop_home.protocol.dispatch import DispatchCommand
from gridcoop_home.protocol.errors import MALFORMED, ProtocolError
from gridcoop_home.protocol.grid_limit import GridLimit
from gridcoop_home.protocol.schema import SCHEMAS
from jsonschema import Draft202012Validator

DISCHARGE = DispatchCommand("battery", "discharge", 2_000, 500, "sold 500 Wh")
START = DispatchCommand("load:dishwasher", "start", 1_200, 300, "bought 300 Wh")


def allocation(**changes: Any) -> Allocation:
    record = Allocation(
        interval_start=1_767_225_600,
        home_id="a1b2c3d4e5f60718",
        bought_local_wh=300,
        sold_local_wh=500,
        bought_grid_wh=0,
        sold_grid_wh=20,
        paid_mminor=6_600,
        received_mminor=10_160,
        fees_mminor=800,
        bid_digest="ab" * 32,
        dispatch=(DISCHARGE, START),
        curtailed_buy_wh=0,
        curtailed_sell_wh=40,
    )
    return dataclasses.replace(record, **changes)


def test_an_allocation_survives_its_wire_form_exactly() -> None:
    sent = allocation()

    assert Allocation.from_wire(sent.to_wire()) == sent


def test_the_wire_form_is_what_the_schema_describes() -> None:
    wire = allocation().to_wire()

    assert list(wire) == [name for name in WIRE_FIELDS if name != "grid_limit"]  # absent: none
    assert list(SCHEMAS["Allocation"]["properties"]) == list(WIRE_FIELDS)
    assert list(_validator("Allocation").iter_errors(wire)) == []
    assert wire["dispatch"][1] == {
        "device": "load:dishwasher",
        "action": "start",
        "power_w": 1_200,
        "energy_wh": 300,
        "reason": "bought 300 Wh",
    }


def test_a_grid_limit_travels_in_the_wire_form_and_back() -> None:
    limited = allocation(grid_limit=GridLimit(import_w=4200, export_w=None))
    wire = limited.to_wire()

    assert wire["grid_limit"] == {"import_w": 4200, "export_w": None}
    assert list(_validator("Allocation").iter_errors(wire)) == []
    assert Allocation.from_wire(wire) == limited
    assert Allocation.from_wire({**wire, "grid_limit": None}).grid_limit is None


@pytest.mark.parametrize(
    "bad",
    [[], {"import_w": -1}, {"import_w": 1.5}, {"import_w": True}, {"dim": 1}],
)
def test_a_wrong_grid_limit_is_malformed(bad: object) -> None:
    wire = {**allocation().to_wire(), "grid_limit": bad}

    with pytest.raises(ProtocolError) as caught:
        Allocation.from_wire(wire)
    assert caught.value.reason == MALFORMED and "grid_limit" in str(caught.value)


def test_two_limits_at_once_take_the_lower_of_each() -> None:
    both = GridLimit(4200, None).tighter(GridLimit(5000, 3000))

    assert both == GridLimit(4200, 3000)
    assert both.energy_wh(900) == (1050, 750)


def test_any_sequence_of_commands_is_kept_as_a_tuple() -> None:
    given_a_list = allocation(dispatch=[DISCHARGE])

    assert given_a_list.dispatch == (DISCHARGE,)
    assert given_a_list == allocation(dispatch=(DISCHARGE,))


def test_a_hub_without_a_feeder_may_leave_the_curtailment_out() -> None:
    wire = allocation().to_wire()
    del wire["curtailed_buy_wh"], wire["curtailed_sell_wh"]

    read = Allocation.from_wire(wire)

    assert (read.curtailed_buy_wh, read.curtailed_sell_wh) == (0, 0)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"paid_mminor": "6600"}, "allocation.paid_mminor must be an integer"),
        ({"sold_local_wh": True}, "allocation.sold_local_wh must be an integer"),
        ({"home_id": 7}, "allocation.home_id must be a string"),
        ({"price": 20}, "allocation has unknown fields ['price']"),
        ({"dispatch": "charge"}, "allocation.dispatch must be a list of commands"),
        ({"dispatch": [{"device": "battery"}]}, "allocation.dispatch holds a bad command"),
    ],
)
def test_a_malformed_allocation_is_refused_with_what_is_wrong(
    change: dict[str, Any], names: str
) -> None:
    wire = {**allocation().to_wire(), **change}

    with pytest.raises(ProtocolError) as refused:
        Allocation.from_wire(wire)

    assert refused.value.reason == MALFORMED
    assert names in str(refused.value)


def test_a_missing_field_without_a_default_is_refused() -> None:
    wire = allocation().to_wire()
    del wire["bid_digest"]

    with pytest.raises(ProtocolError, match="allocation lacks 'bid_digest'"):
        Allocation.from_wire(wire)


def _validator(name: str) -> Draft202012Validator:
    document = {"components": {"schemas": SCHEMAS}}
    return Draft202012Validator({**document, "$ref": f"#/components/schemas/{name}"})
