"""Point tables of the meter models: 201-204 (integer + scale factor) and 211-214 (float32).

Offsets, types, scale factors and units are those of the SunSpec JSON definitions
(github.com/sunspec/models, json/model_<id>.json); tests/home/devices/spec_points.json holds
what those definitions say about every point listed here, and a test compares the two.
"""

from __future__ import annotations

from .points import ACC32, B32, F32, I16, ModelDef, Point, consecutive, sf_point


def integer_meter(model_id: int, name: str) -> ModelDef:
    # 201 (single phase), 202 (split phase), 203 (wye), 204 (delta) share one layout.
    return ModelDef(
        model_id,
        name,
        (
            Point("A", 0, I16, "A_SF", "A"),
            Point("AphA", 1, I16, "A_SF", "A"),
            Point("AphB", 2, I16, "A_SF", "A"),
            Point("AphC", 3, I16, "A_SF", "A"),
            sf_point("A_SF", 4),
            Point("PhV", 5, I16, "V_SF", "V"),
            Point("PhVphA", 6, I16, "V_SF", "V"),
            Point("PhVphB", 7, I16, "V_SF", "V"),
            Point("PhVphC", 8, I16, "V_SF", "V"),
            Point("PPV", 9, I16, "V_SF", "V"),
            sf_point("V_SF", 13),
            Point("Hz", 14, I16, "Hz_SF", "Hz"),
            sf_point("Hz_SF", 15),
            Point("W", 16, I16, "W_SF", "W"),
            Point("WphA", 17, I16, "W_SF", "W"),
            Point("WphB", 18, I16, "W_SF", "W"),
            Point("WphC", 19, I16, "W_SF", "W"),
            sf_point("W_SF", 20),
            Point("VA", 21, I16, "VA_SF", "VA"),
            sf_point("VA_SF", 25),
            Point("VAR", 26, I16, "VAR_SF", "var"),
            sf_point("VAR_SF", 30),
            Point("PF", 31, I16, "PF_SF", "Pct"),
            sf_point("PF_SF", 35),
            Point("TotWhExp", 36, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhA", 38, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhB", 40, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhC", 42, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImp", 44, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhA", 46, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhB", 48, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhC", 50, ACC32, "TotWh_SF", "Wh"),
            sf_point("TotWh_SF", 52),
            Point("Evt", 103, B32),
        ),
    )


def float_meter(model_id: int, name: str) -> ModelDef:
    # 211, 212, 213 and 214: the 201-204 points as float32, without scale factors.
    measurements = consecutive(
        0,
        F32,
        *[("A", "A"), ("AphA", "A"), ("AphB", "A"), ("AphC", "A")],
        *[("PhV", "V"), ("PhVphA", "V"), ("PhVphB", "V"), ("PhVphC", "V")],
        *[("PPV", "V"), ("PPVphAB", "V"), ("PPVphBC", "V"), ("PPVphCA", "V")],
        ("Hz", "Hz"),
        *[("W", "W"), ("WphA", "W"), ("WphB", "W"), ("WphC", "W")],
        *[("VA", "VA"), ("VAphA", "VA"), ("VAphB", "VA"), ("VAphC", "VA")],
        *[("VAR", "var"), ("VARphA", "var"), ("VARphB", "var"), ("VARphC", "var")],
        *[("PF", "PF"), ("PFphA", "PF"), ("PFphB", "PF"), ("PFphC", "PF")],
        *[("TotWhExp", "Wh"), ("TotWhExpPhA", "Wh"), ("TotWhExpPhB", "Wh"), ("TotWhExpPhC", "Wh")],
        *[("TotWhImp", "Wh"), ("TotWhImpPhA", "Wh"), ("TotWhImpPhB", "Wh"), ("TotWhImpPhC", "Wh")],
    )
    return ModelDef(model_id, name, (*measurements, Point("Evt", 122, B32)))
