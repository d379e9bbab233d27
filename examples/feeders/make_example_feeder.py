"""Build examples/feeders/lindenweg.json: a small radial LV street feeder with realistic cables.

Run: .venv/bin/python examples/feeders/make_example_feeder.py

A 250 kVA 10/0.4 kV transformer (vk 4 %, vkr 1.2 %) feeds three underground cable runs of
NAYY aluminium cable, cable cabinets every 35-40 m, two homes on every cabinet (30 buses + busbar,
60 homes). Cable data per km at 20 degC (typical datasheet values):

    NAYY 4x150 SE  r 0.206 ohm  x 0.080 ohm  275 A
    NAYY 4x120 SE  r 0.253 ohm  x 0.080 ohm  242 A
    NAYY 4x95 SE   r 0.320 ohm  x 0.082 ohm  215 A

The transformer's impedance is referred to the 0.4 kV side: Z = vk x 0.4^2 / 0.25 MVA.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

CABLES = {  # r, x in ohm/km; thermal limit in A
    "NAYY 4x150 SE": (0.206, 0.080, 275),
    "NAYY 4x120 SE": (0.253, 0.080, 242),
    "NAYY 4x95 SE": (0.320, 0.082, 215),
}
RUNS = [  # street, cable, cabinets, spacing in m
    ("Lindenweg", "NAYY 4x150 SE", 12, 35),
    ("Ahornstrasse", "NAYY 4x120 SE", 10, 40),
    ("Birkenhof", "NAYY 4x95 SE", 8, 35),
]
HOMES_PER_CABINET = 2
TRANSFORMER_KVA, VK, VKR, KV = 250.0, 0.04, 0.012, 0.4


def build() -> dict[str, object]:
    z_base = KV**2 / (TRANSFORMER_KVA / 1000)
    buses: list[dict[str, object]] = [{"id": 0, "name": "LV busbar"}]
    lines: list[dict[str, object]] = []
    homes: dict[str, int] = {}
    for street, cable, cabinets, spacing in RUNS:
        r_km, x_km, amps = CABLES[cable]
        previous = 0
        for number in range(1, cabinets + 1):
            bus = len(buses)
            buses.append({"id": bus, "name": f"{street} cabinet {number}"})
            km = spacing / 1000
            lines.append(
                {
                    "name": f"{street} {number}",
                    "from_bus": previous,
                    "to_bus": bus,
                    "r_ohm": round(r_km * km, 6),
                    "x_ohm": round(x_km * km, 6),
                    "limit_a": amps,
                }
            )
            for _ in range(HOMES_PER_CABINET):
                homes[f"home-{len(homes) + 1:02}"] = bus
            previous = bus
    return {
        "format": "gridcoop-feeder/1",
        "name": "Lindenweg example feeder",
        "description": (
            "250 kVA secondary substation, three NAYY cable runs, 60 homes; built by "
            "examples/feeders/make_example_feeder.py"
        ),
        "nominal_kv": KV,
        "voltage_limits_pu": {"min": 0.95, "max": 1.05},
        "transformer": {
            "name": "T1 250 kVA",
            "bus": 0,
            "limit_kva": TRANSFORMER_KVA,
            "voltage_pu": 1.02,
            "r_ohm": round(VKR * z_base, 6),
            "x_ohm": round(math.sqrt(VK**2 - VKR**2) * z_base, 6),
        },
        "buses": buses,
        "lines": lines,
        "homes": homes,
    }


def main() -> None:
    target = Path(__file__).with_name("lindenweg.json")
    target.write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
