"""Point tables of the inverter models: 101-103 (integer + scale factor), 111-113 (float32),
160 (MPPT extension) and 701 (DER AC measurement).

Offsets, types, scale factors and units are those of the SunSpec JSON definitions
(github.com/sunspec/models, json/model_<id>.json); tests/home/devices/spec_points.json holds
what those definitions say about every point listed here, and a test compares the two.
"""

from __future__ import annotations

from .points import (
    ACC32,
    B32,
    COUNT,
    E16,
    F32,
    I16,
    STR,
    U16,
    U32,
    U64,
    ModelDef,
    Point,
    consecutive,
    sf_point,
)


def integer_inverter(model_id: int, name: str) -> ModelDef:
    # 101 (single phase), 102 (split phase) and 103 (three phase) share one layout.
    return ModelDef(
        model_id,
        name,
        (
            Point("A", 0, U16, "A_SF", "A"),
            Point("AphA", 1, U16, "A_SF", "A"),
            Point("AphB", 2, U16, "A_SF", "A"),
            Point("AphC", 3, U16, "A_SF", "A"),
            sf_point("A_SF", 4),
            Point("PPVphAB", 5, U16, "V_SF", "V"),
            Point("PPVphBC", 6, U16, "V_SF", "V"),
            Point("PPVphCA", 7, U16, "V_SF", "V"),
            Point("PhVphA", 8, U16, "V_SF", "V"),
            Point("PhVphB", 9, U16, "V_SF", "V"),
            Point("PhVphC", 10, U16, "V_SF", "V"),
            sf_point("V_SF", 11),
            Point("W", 12, I16, "W_SF", "W"),
            sf_point("W_SF", 13),
            Point("Hz", 14, U16, "Hz_SF", "Hz"),
            sf_point("Hz_SF", 15),
            Point("VA", 16, I16, "VA_SF", "VA"),
            sf_point("VA_SF", 17),
            Point("VAr", 18, I16, "VAr_SF", "var"),
            sf_point("VAr_SF", 19),
            Point("PF", 20, I16, "PF_SF", "Pct"),
            sf_point("PF_SF", 21),
            Point("WH", 22, ACC32, "WH_SF", "Wh"),
            sf_point("WH_SF", 24),
            Point("DCA", 25, U16, "DCA_SF", "A"),
            sf_point("DCA_SF", 26),
            Point("DCV", 27, U16, "DCV_SF", "V"),
            sf_point("DCV_SF", 28),
            Point("DCW", 29, I16, "DCW_SF", "W"),
            sf_point("DCW_SF", 30),
            Point("TmpCab", 31, I16, "Tmp_SF", "C"),
            Point("TmpSnk", 32, I16, "Tmp_SF", "C"),
            Point("TmpTrns", 33, I16, "Tmp_SF", "C"),
            Point("TmpOt", 34, I16, "Tmp_SF", "C"),
            sf_point("Tmp_SF", 35),
            Point("St", 36, E16),
            Point("StVnd", 37, E16),
            Point("Evt1", 38, B32),
            Point("Evt2", 40, B32),
        ),
    )


def float_inverter(model_id: int, name: str) -> ModelDef:
    # 111, 112 and 113: the same points as 101-103 as float32, without scale factors.
    measurements = consecutive(
        0,
        F32,
        *[("A", "A"), ("AphA", "A"), ("AphB", "A"), ("AphC", "A")],
        *[("PPVphAB", "V"), ("PPVphBC", "V"), ("PPVphCA", "V")],
        *[("PhVphA", "V"), ("PhVphB", "V"), ("PhVphC", "V")],
        *[("W", "W"), ("Hz", "Hz"), ("VA", "VA"), ("VAr", "var"), ("PF", "Pct"), ("WH", "Wh")],
        *[("DCA", "A"), ("DCV", "V"), ("DCW", "W")],
        *[("TmpCab", "C"), ("TmpSnk", "C"), ("TmpTrns", "C"), ("TmpOt", "C")],
    )
    states = (Point("St", 46, E16), Point("StVnd", 47, E16))
    events = (Point("Evt1", 48, B32), Point("Evt2", 50, B32))
    return ModelDef(model_id, name, (*measurements, *states, *events))


MPPT = ModelDef(
    160,
    "mppt",
    (
        sf_point("DCA_SF", 0),
        sf_point("DCV_SF", 1),
        sf_point("DCW_SF", 2),
        sf_point("DCWH_SF", 3),
        Point("Evt", 4, B32),
        Point("N", 6, COUNT),
        Point("TmsPer", 7, U16),
    ),
    repeat=(
        Point("ID", 0, U16),
        Point("IDStr", 1, STR, size=8),
        Point("DCA", 9, U16, "DCA_SF", "A"),
        Point("DCV", 10, U16, "DCV_SF", "V"),
        Point("DCW", 11, U16, "DCW_SF", "W"),
        Point("DCWH", 12, ACC32, "DCWH_SF", "Wh"),
        Point("Tms", 14, U32, units="Secs"),
        Point("Tmp", 16, I16, units="C"),
        Point("DCSt", 17, E16),
        Point("DCEvt", 18, B32),
    ),
    fixed_length=8,
    repeat_length=20,
)

DER_AC_MEASUREMENT = ModelDef(
    701,
    "der_ac_measurement",
    (
        Point("ACType", 0, E16),
        Point("St", 1, E16),
        Point("InvSt", 2, E16),
        Point("ConnSt", 3, E16),
        Point("Alrm", 4, B32),
        Point("DERMode", 6, B32),
        Point("W", 8, I16, "W_SF", "W"),
        Point("VA", 9, I16, "VA_SF", "VA"),
        Point("Var", 10, I16, "Var_SF", "Var"),
        Point("PF", 11, I16, "PF_SF"),  # signed: the sign tells leading from lagging
        Point("A", 12, I16, "A_SF", "A"),
        Point("LLV", 13, U16, "V_SF", "V"),  # unsigned: 400.00 V needs more than 0x7FFF
        Point("LNV", 14, U16, "V_SF", "V"),
        Point("Hz", 15, U32, "Hz_SF", "Hz"),
        Point("TotWhInj", 17, U64, "TotWh_SF", "Wh"),
        Point("TotWhAbs", 21, U64, "TotWh_SF", "Wh"),
        Point("TotVarhInj", 25, U64, "TotVarh_SF", "Varh"),
        Point("TotVarhAbs", 29, U64, "TotVarh_SF", "Varh"),
        Point("TmpAmb", 33, I16, "Tmp_SF", "C"),
        Point("TmpCab", 34, I16, "Tmp_SF", "C"),
        Point("TmpSnk", 35, I16, "Tmp_SF", "C"),
        Point("TmpTrns", 36, I16, "Tmp_SF", "C"),
        Point("TmpSw", 37, I16, "Tmp_SF", "C"),
        Point("TmpOt", 38, I16, "Tmp_SF", "C"),
        Point("WL1", 39, I16, "W_SF", "W"),
        Point("PFL1", 42, I16, "PF_SF"),
        Point("VL1", 45, U16, "V_SF", "V"),
        Point("WL2", 62, I16, "W_SF", "W"),
        Point("PFL2", 65, I16, "PF_SF"),
        Point("VL2", 68, U16, "V_SF", "V"),
        Point("WL3", 85, I16, "W_SF", "W"),
        Point("PFL3", 88, I16, "PF_SF"),
        Point("VL3", 91, U16, "V_SF", "V"),
        Point("ThrotPct", 108, U16, units="Pct"),
        Point("ThrotSrc", 109, B32),
        sf_point("A_SF", 111),
        sf_point("V_SF", 112),
        sf_point("Hz_SF", 113),
        sf_point("W_SF", 114),
        sf_point("PF_SF", 115),
        sf_point("VA_SF", 116),
        sf_point("Var_SF", 117),
        sf_point("TotWh_SF", 118),
        sf_point("TotVarh_SF", 119),
        sf_point("Tmp_SF", 120),
        Point("MnAlrmInfo", 121, STR, size=32),
    ),
)
