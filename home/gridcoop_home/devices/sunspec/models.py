"""Point tables for the supported SunSpec models.

Offsets, types and scale-factor names follow the SunSpec JSON model definitions
(github.com/sunspec/models, json/model_<id>.json). Offsets count from the first
register after the model header (ID, L). Tables list the points GridCoop uses plus
their scale factors; registers not listed are still read (they are in L) but not decoded.
"""

from __future__ import annotations

from .points import ModelDef, Point, PointType

U16 = PointType.UINT16
I16 = PointType.INT16
U32 = PointType.UINT32
U64 = PointType.UINT64
ACC32 = PointType.ACC32
E16 = PointType.ENUM16
B16 = PointType.BITFIELD16
B32 = PointType.BITFIELD32
SF = PointType.SUNSSF
STR = PointType.STRING
PAD = PointType.PAD


def _sf(name: str, offset: int) -> Point:
    return Point(name, offset, SF)


COMMON = ModelDef(
    1,
    "common",
    (
        Point("Mn", 0, STR, size=16),
        Point("Md", 16, STR, size=16),
        Point("Opt", 32, STR, size=8),
        Point("Vr", 40, STR, size=8),
        Point("SN", 48, STR, size=16),
        Point("DA", 64, U16),
        # Pad at 65 exists only in 66-register variants; many devices report L=65.
    ),
)


def _inverter(model_id: int, name: str) -> ModelDef:
    # 101 (single phase), 102 (split phase) and 103 (three phase) share one layout.
    return ModelDef(
        model_id,
        name,
        (
            Point("A", 0, U16, "A_SF", "A"),
            Point("AphA", 1, U16, "A_SF", "A"),
            Point("AphB", 2, U16, "A_SF", "A"),
            Point("AphC", 3, U16, "A_SF", "A"),
            _sf("A_SF", 4),
            Point("PPVphAB", 5, U16, "V_SF", "V"),
            Point("PPVphBC", 6, U16, "V_SF", "V"),
            Point("PPVphCA", 7, U16, "V_SF", "V"),
            Point("PhVphA", 8, U16, "V_SF", "V"),
            Point("PhVphB", 9, U16, "V_SF", "V"),
            Point("PhVphC", 10, U16, "V_SF", "V"),
            _sf("V_SF", 11),
            Point("W", 12, I16, "W_SF", "W"),
            _sf("W_SF", 13),
            Point("Hz", 14, U16, "Hz_SF", "Hz"),
            _sf("Hz_SF", 15),
            Point("VA", 16, I16, "VA_SF", "VA"),
            _sf("VA_SF", 17),
            Point("VAr", 18, I16, "VAr_SF", "var"),
            _sf("VAr_SF", 19),
            Point("PF", 20, I16, "PF_SF", "Pct"),
            _sf("PF_SF", 21),
            Point("WH", 22, ACC32, "WH_SF", "Wh"),
            _sf("WH_SF", 24),
            Point("DCA", 25, U16, "DCA_SF", "A"),
            _sf("DCA_SF", 26),
            Point("DCV", 27, U16, "DCV_SF", "V"),
            _sf("DCV_SF", 28),
            Point("DCW", 29, I16, "DCW_SF", "W"),
            _sf("DCW_SF", 30),
            Point("TmpCab", 31, I16, "Tmp_SF", "C"),
            Point("TmpSnk", 32, I16, "Tmp_SF", "C"),
            Point("TmpTrns", 33, I16, "Tmp_SF", "C"),
            Point("TmpOt", 34, I16, "Tmp_SF", "C"),
            _sf("Tmp_SF", 35),
            Point("St", 36, E16),
            Point("StVnd", 37, E16),
            Point("Evt1", 38, B32),
            Point("Evt2", 40, B32),
        ),
    )


NAMEPLATE = ModelDef(
    120,
    "nameplate",
    (
        Point("DERTyp", 0, E16),
        Point("WRtg", 1, U16, "WRtg_SF", "W"),
        _sf("WRtg_SF", 2),
        Point("VARtg", 3, U16, "VARtg_SF", "VA"),
        _sf("VARtg_SF", 4),
        Point("ARtg", 10, U16, "ARtg_SF", "A"),
        _sf("ARtg_SF", 11),
        Point("WHRtg", 17, U16, "WHRtg_SF", "Wh"),
        _sf("WHRtg_SF", 18),
        Point("AhrRtg", 19, U16, "AhrRtg_SF", "Ah"),
        _sf("AhrRtg_SF", 20),
        Point("MaxChaRte", 21, U16, "MaxChaRte_SF", "W"),
        _sf("MaxChaRte_SF", 22),
        Point("MaxDisChaRte", 23, U16, "MaxDisChaRte_SF", "W"),
        _sf("MaxDisChaRte_SF", 24),
    ),
)

IMMEDIATE_CONTROLS = ModelDef(
    123,
    "controls",
    (
        Point("Conn_WinTms", 0, U16, units="s", writable=True),
        Point("Conn_RvrtTms", 1, U16, units="s", writable=True),
        Point("Conn", 2, E16, writable=True),
        Point("WMaxLimPct", 3, U16, "WMaxLimPct_SF", "%WMax", writable=True),
        Point("WMaxLimPct_WinTms", 4, U16, units="s", writable=True),
        Point("WMaxLimPct_RvrtTms", 5, U16, units="s", writable=True),
        Point("WMaxLimPct_RmpTms", 6, U16, units="s", writable=True),
        Point("WMaxLim_Ena", 7, E16, writable=True),
        Point("OutPFSet", 8, I16, "OutPFSet_SF", writable=True),
        Point("OutPFSet_Ena", 12, E16, writable=True),
        Point("VArPct_Ena", 20, E16, writable=True),
        _sf("WMaxLimPct_SF", 21),
        _sf("OutPFSet_SF", 22),
        _sf("VArPct_SF", 23),
    ),
)

STORAGE = ModelDef(
    124,
    "storage",
    (
        Point("WChaMax", 0, U16, "WChaMax_SF", "W", writable=True),
        Point("WChaGra", 1, U16, "WChaDisChaGra_SF", "%WChaMax/s", writable=True),
        Point("WDisChaGra", 2, U16, "WChaDisChaGra_SF", "%WChaMax/s", writable=True),
        Point("StorCtl_Mod", 3, B16, writable=True),
        Point("VAChaMax", 4, U16, "VAChaMax_SF", "VA", writable=True),
        Point("MinRsvPct", 5, U16, "MinRsvPct_SF", "%", writable=True),
        Point("ChaState", 6, U16, "ChaState_SF", "%"),
        Point("StorAval", 7, U16, "StorAval_SF", "Ah"),
        Point("InBatV", 8, U16, "InBatV_SF", "V"),
        Point("ChaSt", 9, E16),
        Point("OutWRte", 10, I16, "InOutWRte_SF", "%WChaMax", writable=True),
        Point("InWRte", 11, I16, "InOutWRte_SF", "%WChaMax", writable=True),
        Point("InOutWRte_WinTms", 12, U16, units="s", writable=True),
        Point("InOutWRte_RvrtTms", 13, U16, units="s", writable=True),
        Point("InOutWRte_RmpTms", 14, U16, units="s", writable=True),
        Point("ChaGriSet", 15, E16, writable=True),
        _sf("WChaMax_SF", 16),
        _sf("WChaDisChaGra_SF", 17),
        _sf("VAChaMax_SF", 18),
        _sf("MinRsvPct_SF", 19),
        _sf("ChaState_SF", 20),
        _sf("StorAval_SF", 21),
        _sf("InBatV_SF", 22),
        _sf("InOutWRte_SF", 23),
    ),
)

MPPT = ModelDef(
    160,
    "mppt",
    (
        _sf("DCA_SF", 0),
        _sf("DCV_SF", 1),
        _sf("DCW_SF", 2),
        _sf("DCWH_SF", 3),
        Point("Evt", 4, B32),
        Point("N", 6, U16),
        Point("TmsPer", 7, U16),
    ),
    repeat=(
        Point("ID", 0, U16),
        Point("IDStr", 1, STR, size=8),
        Point("DCA", 9, U16, "DCA_SF", "A"),
        Point("DCV", 10, U16, "DCV_SF", "V"),
        Point("DCW", 11, U16, "DCW_SF", "W"),
        Point("DCWH", 12, ACC32, "DCWH_SF", "Wh"),
        Point("Tms", 14, U32, units="s"),
        Point("Tmp", 16, I16, units="C"),
        Point("DCSt", 17, E16),
        Point("DCEvt", 18, B32),
    ),
    fixed_length=8,
    repeat_length=20,
)


def _meter(model_id: int, name: str) -> ModelDef:
    # 201 (single phase), 202 (split phase), 203 (wye), 204 (delta) share one layout.
    return ModelDef(
        model_id,
        name,
        (
            Point("A", 0, I16, "A_SF", "A"),
            Point("AphA", 1, I16, "A_SF", "A"),
            Point("AphB", 2, I16, "A_SF", "A"),
            Point("AphC", 3, I16, "A_SF", "A"),
            _sf("A_SF", 4),
            Point("PhV", 5, I16, "V_SF", "V"),
            Point("PhVphA", 6, I16, "V_SF", "V"),
            Point("PhVphB", 7, I16, "V_SF", "V"),
            Point("PhVphC", 8, I16, "V_SF", "V"),
            Point("PPV", 9, I16, "V_SF", "V"),
            _sf("V_SF", 13),
            Point("Hz", 14, I16, "Hz_SF", "Hz"),
            _sf("Hz_SF", 15),
            Point("W", 16, I16, "W_SF", "W"),
            Point("WphA", 17, I16, "W_SF", "W"),
            Point("WphB", 18, I16, "W_SF", "W"),
            Point("WphC", 19, I16, "W_SF", "W"),
            _sf("W_SF", 20),
            Point("VA", 21, I16, "VA_SF", "VA"),
            _sf("VA_SF", 25),
            Point("VAR", 26, I16, "VAR_SF", "var"),
            _sf("VAR_SF", 30),
            Point("PF", 31, I16, "PF_SF", "Pct"),
            _sf("PF_SF", 35),
            Point("TotWhExp", 36, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhA", 38, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhB", 40, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhExpPhC", 42, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImp", 44, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhA", 46, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhB", 48, ACC32, "TotWh_SF", "Wh"),
            Point("TotWhImpPhC", 50, ACC32, "TotWh_SF", "Wh"),
            _sf("TotWh_SF", 52),
            Point("Evt", 103, B32),
        ),
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
        Point("Var", 10, I16, "Var_SF", "var"),
        Point("PF", 11, U16, "PF_SF"),
        Point("A", 12, I16, "A_SF", "A"),
        Point("LLV", 13, I16, "V_SF", "V"),
        Point("LNV", 14, I16, "V_SF", "V"),
        Point("Hz", 15, U32, "Hz_SF", "Hz"),
        Point("TotWhInj", 17, U64, "TotWh_SF", "Wh"),
        Point("TotWhAbs", 21, U64, "TotWh_SF", "Wh"),
        Point("TotVarhInj", 25, U64, "TotVarh_SF", "varh"),
        Point("TotVarhAbs", 29, U64, "TotVarh_SF", "varh"),
        Point("TmpAmb", 33, I16, "Tmp_SF", "C"),
        Point("TmpCab", 34, I16, "Tmp_SF", "C"),
        Point("TmpSnk", 35, I16, "Tmp_SF", "C"),
        Point("TmpTrns", 36, I16, "Tmp_SF", "C"),
        Point("TmpSw", 37, I16, "Tmp_SF", "C"),
        Point("TmpOt", 38, I16, "Tmp_SF", "C"),
        Point("WL1", 39, I16, "W_SF", "W"),
        Point("VL1", 45, I16, "V_SF", "V"),
        Point("WL2", 62, I16, "W_SF", "W"),
        Point("VL2", 68, I16, "V_SF", "V"),
        Point("WL3", 85, I16, "W_SF", "W"),
        Point("VL3", 91, I16, "V_SF", "V"),
        Point("ThrotPct", 108, U16, units="%"),
        Point("ThrotSrc", 109, B32),
        _sf("A_SF", 111),
        _sf("V_SF", 112),
        _sf("Hz_SF", 113),
        _sf("W_SF", 114),
        _sf("PF_SF", 115),
        _sf("VA_SF", 116),
        _sf("Var_SF", 117),
        _sf("TotWh_SF", 118),
        _sf("TotVarh_SF", 119),
        _sf("Tmp_SF", 120),
        Point("MnAlrmInfo", 121, STR, size=32),
    ),
)

DER_STORAGE_CAPACITY = ModelDef(
    713,
    "der_storage_capacity",
    (
        Point("WHRtg", 0, U16, "WH_SF", "Wh"),
        Point("WHAvail", 1, U16, "WH_SF", "Wh"),
        # The published JSON (L=6) has no percent scale factor; later revisions add
        # Pct_SF at offset 6. A scale factor beyond the device's L decodes as 10**0.
        Point("SoC", 2, U16, "Pct_SF", "%"),
        Point("SoH", 3, U16, "Pct_SF", "%"),
        Point("Sta", 4, E16),
        _sf("WH_SF", 5),
        _sf("Pct_SF", 6),
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
        Point("SoCMax", 5, U16, "SoC_SF", "%"),
        Point("SoCMin", 6, U16, "SoC_SF", "%"),
        Point("SoCRsvMax", 7, U16, "SoC_SF", "%", writable=True),
        Point("SoCRsvMin", 8, U16, "SoC_SF", "%", writable=True),
        Point("SoC", 9, U16, "SoC_SF", "%"),
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
        _sf("AHRtg_SF", 50),
        _sf("WHRtg_SF", 51),
        _sf("WChaDisChaMax_SF", 52),
        _sf("DisChaRte_SF", 53),
        _sf("SoC_SF", 54),
        _sf("DoD_SF", 55),
        _sf("SoH_SF", 56),
        _sf("V_SF", 57),
        _sf("CellV_SF", 58),
        _sf("A_SF", 59),
        _sf("AMax_SF", 60),
        _sf("W_SF", 61),
    ),
)

MODELS: dict[int, ModelDef] = {
    m.model_id: m
    for m in (
        COMMON,
        _inverter(101, "inverter_single_phase"),
        _inverter(102, "inverter_split_phase"),
        _inverter(103, "inverter_three_phase"),
        NAMEPLATE,
        IMMEDIATE_CONTROLS,
        STORAGE,
        MPPT,
        _meter(201, "meter_single_phase"),
        _meter(202, "meter_split_phase"),
        _meter(203, "meter_wye"),
        _meter(204, "meter_delta"),
        DER_AC_MEASUREMENT,
        DER_STORAGE_CAPACITY,
        BATTERY_BASE,
    )
}

INVERTER_MODELS = (101, 102, 103)
METER_MODELS = (201, 202, 203, 204)
