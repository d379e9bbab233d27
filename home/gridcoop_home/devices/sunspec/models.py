"""The SunSpec models this reader decodes: common (1), nameplate (120), immediate controls
(123), and the registry of every point table (the others live in tables_*.py).

Offsets, types, scale factors and units are those of the SunSpec JSON definitions
(github.com/sunspec/models, json/model_<id>.json). Offsets count from the first register
after the model header (ID, L). Tables list the points GridCoop uses plus their scale
factors; registers not listed are still read (they are in L) but not decoded.
tests/home/devices/spec_points.json holds what the definitions say about every point listed,
and a test compares the two.
"""

from __future__ import annotations

from .points import E16, I16, STR, U16, ModelDef, Point, sf_point
from .tables_inverter import DER_AC_MEASUREMENT, MPPT, float_inverter, integer_inverter
from .tables_meter import float_meter, integer_meter
from .tables_storage import BATTERY_BASE, DER_STORAGE_CAPACITY, STORAGE

COMMON = ModelDef(
    1,
    "common",
    (
        Point("Mn", 0, STR, size=16),
        Point("Md", 16, STR, size=16),
        Point("Opt", 32, STR, size=8),
        Point("Vr", 40, STR, size=8),
        Point("SN", 48, STR, size=16),
        Point("DA", 64, U16, writable=True),
        # Pad at 65 exists only in 66-register variants; many devices report L=65.
    ),
)

NAMEPLATE = ModelDef(
    120,
    "nameplate",
    (
        Point("DERTyp", 0, E16),
        Point("WRtg", 1, U16, "WRtg_SF", "W"),
        sf_point("WRtg_SF", 2),
        Point("VARtg", 3, U16, "VARtg_SF", "VA"),
        sf_point("VARtg_SF", 4),
        Point("ARtg", 10, U16, "ARtg_SF", "A"),
        sf_point("ARtg_SF", 11),
        Point("WHRtg", 17, U16, "WHRtg_SF", "Wh"),
        sf_point("WHRtg_SF", 18),
        Point("AhrRtg", 19, U16, "AhrRtg_SF", "AH"),
        sf_point("AhrRtg_SF", 20),
        Point("MaxChaRte", 21, U16, "MaxChaRte_SF", "W"),
        sf_point("MaxChaRte_SF", 22),
        Point("MaxDisChaRte", 23, U16, "MaxDisChaRte_SF", "W"),
        sf_point("MaxDisChaRte_SF", 24),
    ),
)

IMMEDIATE_CONTROLS = ModelDef(
    123,
    "controls",
    (
        Point("Conn_WinTms", 0, U16, units="Secs", writable=True),
        Point("Conn_RvrtTms", 1, U16, units="Secs", writable=True),
        Point("Conn", 2, E16, writable=True),
        Point("WMaxLimPct", 3, U16, "WMaxLimPct_SF", "% WMax", writable=True),
        Point("WMaxLimPct_WinTms", 4, U16, units="Secs", writable=True),
        Point("WMaxLimPct_RvrtTms", 5, U16, units="Secs", writable=True),
        Point("WMaxLimPct_RmpTms", 6, U16, units="Secs", writable=True),
        Point("WMaxLim_Ena", 7, E16, writable=True),
        Point("OutPFSet", 8, I16, "OutPFSet_SF", "cos()", writable=True),
        Point("OutPFSet_Ena", 12, E16, writable=True),
        Point("VArPct_Ena", 20, E16, writable=True),
        sf_point("WMaxLimPct_SF", 21),
        sf_point("OutPFSet_SF", 22),
        sf_point("VArPct_SF", 23),
    ),
)

MODELS: dict[int, ModelDef] = {
    m.model_id: m
    for m in (
        COMMON,
        integer_inverter(101, "inverter_single_phase"),
        integer_inverter(102, "inverter_split_phase"),
        integer_inverter(103, "inverter_three_phase"),
        float_inverter(111, "inverter_single_phase_float"),
        float_inverter(112, "inverter_split_phase_float"),
        float_inverter(113, "inverter_three_phase_float"),
        NAMEPLATE,
        IMMEDIATE_CONTROLS,
        STORAGE,
        MPPT,
        integer_meter(201, "meter_single_phase"),
        integer_meter(202, "meter_split_phase"),
        integer_meter(203, "meter_wye"),
        integer_meter(204, "meter_delta"),
        float_meter(211, "meter_single_phase_float"),
        float_meter(212, "meter_split_phase_float"),
        float_meter(213, "meter_wye_float"),
        float_meter(214, "meter_delta_float"),
        DER_AC_MEASUREMENT,
        DER_STORAGE_CAPACITY,
        BATTERY_BASE,
    )
}

# Where each typed reading looks, in order of preference.
INVERTER_MODELS = (101, 102, 103, 111, 112, 113, 701)
METER_MODELS = (201, 202, 203, 204, 211, 212, 213, 214)
BATTERY_MODELS = (802, 713, 124)

__all__ = [
    "BATTERY_BASE",
    "BATTERY_MODELS",
    "COMMON",
    "DER_AC_MEASUREMENT",
    "DER_STORAGE_CAPACITY",
    "IMMEDIATE_CONTROLS",
    "INVERTER_MODELS",
    "METER_MODELS",
    "MODELS",
    "MPPT",
    "NAMEPLATE",
    "STORAGE",
]
