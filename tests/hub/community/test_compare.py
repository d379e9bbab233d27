"""The methods side by side on the same DSO values."""

from __future__ import annotations

from hub.community.compare import compare_methods, report_lines
from hub.community.dso import DsoValues
from hub.community.model import Direction, Method
from tests.hub.community.support import NOON, community, member, plant

C, INJ = Direction.CONSUMPTION, Direction.INJECTION


def test_redistribution_and_dynamic_use_what_static_sends_to_the_grid() -> None:
    lindenhof = community(Method.STATIC, member("a"), member("b"), plants=(plant("pv"),))
    dso: DsoValues = {
        ("AT-a", C, NOON): 100,
        ("AT-b", C, NOON): 900,
        ("AT-pv", INJ, NOON): 1000,
        ("AT-a", C, NOON + 900): 50,
        ("AT-b", C, NOON + 900): 50,
        ("AT-pv", INJ, NOON + 900): 300,
    }
    static, redistributed, dynamic = compare_methods(lindenhof, dso, NOON, NOON + 1800, None)
    # first quarter-hour: static gives a 500 (uses 100) and b 500, 400 to the grid
    assert (static.allocated_wh, static.to_grid_wh) == (100 + 500 + 100, 400 + 200)
    assert (redistributed.allocated_wh, redistributed.to_grid_wh) == (1100, 200)
    assert (dynamic.allocated_wh, dynamic.to_grid_wh) == (1100, 200)
    assert static.peak_grid_wh == 400
    assert redistributed.received == {"a": 150, "b": 950}
    lines = list(report_lines([static, redistributed, dynamic]))
    assert lines[0].startswith("method")
    assert any(line.startswith("static+redistribute") for line in lines)
