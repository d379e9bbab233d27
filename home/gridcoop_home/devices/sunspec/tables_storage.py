"""Point tables of the storage models: 124 (basic storage controls), 713 (DER storage
capacity) and 802 (battery base).

Offsets, types, scale factors and units are those of the SunSpec JSON definitions
(github.com/sunspec/models, json/model_<id>.json); tests/home/devices/spec_points.json holds
what those definitions say about every point listed here, and a test compares the two.
"""

from __future__ import annotations

from .points import B16, B32, E16, I16, U16, U32, ModelDef, Point, sf_point

STORAGE = ModelDef(
    124,
    "storage",
    (
        Point("WChaMax", 0, U16, "WChaMax_SF", "W", writable=True),
        Point("WChaGra", 1, U16, "WChaDisChaGra_SF", "% WChaMax/sec", writable=True),
        Point("WDisChaGra", 2, U16, "WChaDisChaGra_SF", "% WChaMax/sec", writable=True),
        Point("StorCtl_Mod", 3, B16, writable=True),
        Point("VAChaMax", 4, U16, "VAChaMax_SF", "VA", writable=True),
        Point("MinRsvPct", 5, U16, "MinRsvPct_SF", "% WChaMax", writable=True),
        Point("ChaState", 6, U16, "ChaState_SF", "% AhrRtg"),
        Point("StorAval", 7, U16, "StorAval_SF", "AH"),
        Point("InBatV", 8, U16, "InBatV_SF", "V"),
        Point("ChaSt", 9, E16),
        Point("OutWRte", 10, I16, "InOutWRte_SF", "% WDisChaMax", writable=True),
        Point("InWRte", 11, I16, "InOutWRte_SF", "% WChaMax", writable=True),
        Point("InOutWRte_WinTms", 12, U16, units="Secs", writable=True),
        Point("InOutWRte_RvrtTms", 13, U16, units="Secs", writable=True),
        Point("InOutWRte_RmpTms", 14, U16, units="Secs", writable=True),
        Point("ChaGriSet", 15, E16, writable=True),
        sf_point("WChaMax_SF", 16),
        sf_point("WChaDisChaGra_SF", 17),
        sf_point("VAChaMax_SF", 18),
        sf_point("MinRsvPct_SF", 19),
        sf_point("ChaState_SF", 20),
        sf_point("StorAval_SF", 21),
        sf_point("InBatV_SF", 22),
        sf_point("InOutWRte_SF", 23),
    ),
)

DER_STORAGE_CAPACITY = ModelDef(
    713,
    "der_storage_capacity",
    (
        Point("WHRtg", 0, U16, "WH_SF", "WH"),
        Point("WHAvail", 1, U16, "WH_SF", "WH"),
        # The first published revision (L=6) had no percent scale factor; a scale factor
        # beyond the device's L decodes as 10**0.
        Point("SoC", 2, U16, "Pct_SF", "Pct"),
        Point("SoH", 3, U16, "Pct_SF", "Pct"),
        Point("Sta", 4, E16),
        sf_point("WH_SF", 5),
        sf_point("Pct_SF", 6),
    ),
)

BATTERY_BASE = ModelDef(
    802,
    "battery",
    (
        Point("AHRtg", 0, U16, "AHRtg_SF", "Ah"),
        Point("WHRtg", 1, U16, "WHRtg_SF", "Wh"),
        Point("WChaRteMax", 2, U16, "WChaDisChaMax_SF", "W"),
        Point("WDisChaRteMax", 3, U16, "WChaDisChaMax_SF", "W"),
        Point("DisChaRte", 4, U16, "DisChaRte_SF", "%WHRtg"),
        Point("SoCMax", 5, U16, "SoC_SF", "%WHRtg"),
        Point("SoCMin", 6, U16, "SoC_SF", "%WHRtg"),
        Point("SocRsvMax", 7, U16, "SoC_SF", "%WHRtg", writable=True),  # "Soc" as in the spec
        Point("SoCRsvMin", 8, U16, "SoC_SF", "%WHRtg", writable=True),
        Point("SoC", 9, U16, "SoC_SF", "%WHRtg"),
        Point("DoD", 10, U16, "DoD_SF", "%"),
        Point("SoH", 11, U16, "SoH_SF", "%"),
        Point("NCyc", 12, U32),
        Point("ChaSt", 14, E16),
        Point("LocRemCtl", 15, E16),
        Point("Hb", 16, U16),
        Point("Typ", 19, E16),
        Point("State", 20, E16),
        Point("Evt1", 24, B32),
        Point("Evt2", 26, B32),
        Point("V", 32, U16, "V_SF", "V"),
        Point("VMax", 33, U16, "V_SF", "V"),
        Point("VMin", 34, U16, "V_SF", "V"),
        Point("CellVMax", 35, U16, "CellV_SF", "V"),
        Point("CellVMin", 38, U16, "CellV_SF", "V"),
        Point("CellVAvg", 41, U16, "CellV_SF", "V"),
        Point("A", 42, I16, "A_SF", "A"),
        Point("AChaMax", 43, U16, "AMax_SF", "A"),
        Point("ADisChaMax", 44, U16, "AMax_SF", "A"),
        Point("W", 45, I16, "W_SF", "W"),
        Point("ReqInvState", 46, E16),
        Point("ReqW", 47, I16, "W_SF", "W"),
        sf_point("AHRtg_SF", 50),
        sf_point("WHRtg_SF", 51),
        sf_point("WChaDisChaMax_SF", 52),
        sf_point("DisChaRte_SF", 53),
        sf_point("SoC_SF", 54),
        sf_point("DoD_SF", 55),
        sf_point("SoH_SF", 56),
        sf_point("V_SF", 57),
        sf_point("CellV_SF", 58),
        sf_point("A_SF", 59),
        sf_point("AMax_SF", 60),
        sf_point("W_SF", 61),
    ),
)
