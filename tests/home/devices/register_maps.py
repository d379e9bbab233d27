"""Realistic SunSpec register maps for the test server.

The maps are encoded here by hand, offset by offset, from the SunSpec JSON model
definitions (github.com/sunspec/models, json/model_<id>.json) and deliberately do
*not* reuse the production point tables, so an offset mistake there shows up as a
failing test instead of being mirrored.

Where the values come from:
  * inverter: modelled on an SMA Sunny Tripower CORE1 (50 kW, 6 MPP trackers) as its
    SunSpec map looks at 40000: models 1, 103, 120, 123, 160. Common model L=65
    (no Pad) as many inverters report it. Temperatures other than the cabinet and
    the inverter-level DC current/voltage are "not implemented", as SMA and Fronius
    report them. Values are a sunny midday: 31.24 kW AC, 230 V / 50 Hz grid.
  * battery: a 10.24 kWh LiFePO4 high-voltage stack (BYD HVS 10.2-class) behind a
    5 kW hybrid inverter: models 1, 802, 124, 713, at base 50000.
  * meter: a Fronius Smart Meter TS 65A-3 as a Fronius Datamanager exposes it with
    the integer+SF option (model 203) on unit id 200; per-phase energy counters not
    implemented (0xFFFFFFFF), which is common.
  * der: an IEEE 1547-2018 inverter exposing DER model 701 (153 registers, so it needs
    two reads), at base 0.
"""

from __future__ import annotations

from dataclasses import dataclass

SUNS = [0x5375, 0x6E53]
END = [0xFFFF, 0x0000]
NI_I16 = 0x8000
NI_U16 = 0xFFFF
NI_SF = 0x8000
NI_U32 = [0xFFFF, 0xFFFF]


def i16(value: int) -> list[int]:
    return [value & 0xFFFF]


def u16(value: int) -> list[int]:
    return [value]


def u32(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def u64(value: int) -> list[int]:
    return [(value >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]


def text(value: str, registers: int) -> list[int]:
    data = value.encode("ascii").ljust(registers * 2, b"\x00")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, registers * 2, 2)]


def model(model_id: int, length: int, fields: dict[int, list[int]]) -> list[int]:
    """Header plus a body of `length` registers; `fields` maps body offsets to registers."""
    body = [0] * length
    for offset, regs in fields.items():
        assert offset + len(regs) <= length, (model_id, offset)
        body[offset : offset + len(regs)] = regs
    return [model_id, length, *body]


@dataclass(frozen=True)
class RegisterMap:
    base: int
    registers: list[int]


def build(base: int, *models: list[int], marker: list[int] = SUNS) -> RegisterMap:
    registers = [*marker]
    for m in models:
        registers.extend(m)
    registers.extend(END)
    return RegisterMap(base, registers)


def common(
    manufacturer: str, model_name: str, version: str, serial: str, length: int = 66
) -> list[int]:
    return model(
        1,
        length,
        {
            0: text(manufacturer, 16),
            16: text(model_name, 16),
            32: text("", 8),
            40: text(version, 8),
            48: text(serial, 16),
            64: u16(1),
        },
    )


# --- inverter ------------------------------------------------------------------

INVERTER_103 = model(
    103,
    50,
    {
        0: u16(4530),  # A 45.30 A
        1: u16(1510),
        2: u16(1508),
        3: u16(1512),
        4: i16(-2),  # A_SF
        5: u16(3986),  # PPVphAB 398.6 V
        6: u16(3990),
        7: u16(3984),
        8: u16(2301),  # PhVphA 230.1 V
        9: u16(2304),
        10: u16(2299),
        11: i16(-1),  # V_SF
        12: i16(3124),  # W -> 31240 W
        13: i16(1),  # W_SF
        14: u16(5001),  # Hz 50.01
        15: i16(-2),
        16: i16(3130),  # VA
        17: i16(1),
        18: i16(-12),  # VAr
        19: i16(1),
        20: i16(998),  # PF 99.8 %
        21: i16(-1),
        22: u32(183_456_789),  # WH lifetime
        24: i16(0),  # WH_SF
        25: u16(NI_U16),  # DCA not implemented at inverter level
        26: i16(NI_SF),  # DCA_SF not implemented
        27: u16(NI_U16),
        28: i16(NI_SF),
        29: i16(3210),  # DCW -> 32100 W
        30: i16(1),
        31: i16(413),  # TmpCab 41.3 C
        32: i16(NI_I16),  # TmpSnk not implemented
        33: i16(NI_I16),
        34: i16(NI_I16),
        35: i16(-1),  # Tmp_SF
        36: u16(4),  # St MPPT
        37: u16(NI_U16),
        38: u32(0),
        40: u32(0),
    },
)

NAMEPLATE_120 = model(
    120,
    26,
    {
        0: u16(4),  # DERTyp PV
        1: u16(5000),  # WRtg -> 50000 W
        2: i16(1),
        3: u16(5000),  # VARtg 50000 VA
        4: i16(1),
        10: u16(7250),  # ARtg 72.50 A
        11: i16(-2),
        17: u16(NI_U16),  # no storage
        18: i16(NI_SF),
        19: u16(NI_U16),
        20: i16(NI_SF),
        21: u16(NI_U16),
        22: i16(NI_SF),
        23: u16(NI_U16),
        24: i16(NI_SF),
    },
)

CONTROLS_123 = model(
    123,
    24,
    {
        2: u16(1),  # Conn CONNECT
        3: u16(10000),  # WMaxLimPct 100.00 %
        4: u16(0),
        5: u16(0),
        6: u16(0),
        7: u16(0),  # WMaxLim_Ena DISABLED
        8: i16(1000),  # OutPFSet 1.000
        21: i16(-2),  # WMaxLimPct_SF
        22: i16(-3),  # OutPFSet_SF
        23: i16(NI_SF),
    },
)


def _mppt_module(index: int, dca: int, dcv: int, dcw: int, dcwh: int) -> list[int]:
    return [
        index,  # ID
        *text(f"PV{index}", 8),
        dca,  # 0.01 A
        dcv,  # 0.1 V
        dcw,  # W
        *u32(dcwh),
        *u32(1_720_000_000),  # Tms
        NI_I16,  # Tmp
        4,  # DCSt MPPT
        *u32(0),
    ]


MPPT_160 = model(
    160,
    8 + 6 * 20,  # 128 registers: longer than one 125-register read
    {
        0: i16(-2),  # DCA_SF
        1: i16(-1),  # DCV_SF
        2: i16(0),  # DCW_SF
        3: i16(0),  # DCWH_SF
        4: u32(0),
        6: u16(6),  # N
        7: u16(0),
        **{8 + i * 20: _mppt_module(i + 1, 855, 6123, 5235, 30_123_456 + i) for i in range(5)},
        8 + 5 * 20: _mppt_module(6, 0, 0, 0, 0),  # sixth tracker unconnected
    },
)

INVERTER = build(
    40000,
    common("SMA", "STP 50-40", "3.10.21.R", "3012345678", length=65),
    INVERTER_103,
    NAMEPLATE_120,
    CONTROLS_123,
    MPPT_160,
)

# --- battery -------------------------------------------------------------------

BATTERY_802 = model(
    802,
    62,
    {
        0: u16(500),  # AHRtg 50.0 Ah
        1: u16(10240),  # WHRtg
        2: u16(5120),  # WChaRteMax
        3: u16(5120),  # WDisChaRteMax
        4: u16(NI_U16),
        5: u16(1000),  # SoCMax 100.0
        6: u16(50),  # SoCMin 5.0
        7: u16(1000),
        8: u16(100),
        9: u16(564),  # SoC 56.4 %
        10: u16(NI_U16),
        11: u16(98),  # SoH 98 %
        12: u32(412),  # NCyc
        14: u16(4),  # ChaSt CHARGING
        15: u16(0),  # REMOTE
        19: u16(4),  # LITHIUM_ION
        20: u16(3),  # CONNECTED
        24: u32(0),
        26: u32(0),
        32: u16(4096),  # V 409.6
        33: u16(4120),
        34: u16(4080),
        35: u16(3421),  # CellVMax 3.421 V
        38: u16(3398),
        41: u16(3410),
        42: i16(-447),  # A -4.47 A
        43: u16(2500),
        44: u16(2500),
        45: i16(-1830),  # W (negative while charging)
        47: i16(0),
        50: i16(-1),  # AHRtg_SF
        51: i16(0),
        52: i16(0),
        53: i16(NI_SF),
        54: i16(-1),  # SoC_SF
        55: i16(NI_SF),
        56: i16(0),  # SoH_SF
        57: i16(-1),  # V_SF
        58: i16(-3),  # CellV_SF
        59: i16(-2),  # A_SF
        60: i16(-2),
        61: i16(0),  # W_SF
    },
)

STORAGE_124 = model(
    124,
    24,
    {
        0: u16(5000),  # WChaMax 5000 W
        1: u16(100),
        2: u16(100),
        3: u16(0),  # StorCtl_Mod: no limits active
        4: u16(NI_U16),
        5: u16(50),  # MinRsvPct 5.0 %
        6: u16(564),  # ChaState 56.4 %
        7: u16(NI_U16),
        8: u16(4096),  # InBatV 409.6
        9: u16(4),  # ChaSt CHARGING
        10: i16(10000),  # OutWRte 100.00 %
        11: i16(10000),  # InWRte 100.00 %
        12: u16(0),
        13: u16(0),
        14: u16(0),
        15: u16(1),  # ChaGriSet GRID
        16: i16(0),  # WChaMax_SF
        17: i16(0),
        18: i16(NI_SF),
        19: i16(-1),
        20: i16(-1),  # ChaState_SF
        21: i16(NI_SF),
        22: i16(-1),  # InBatV_SF
        23: i16(-2),  # InOutWRte_SF
    },
)

CAPACITY_713 = model(
    713,
    6,  # the published model_713.json: no percent scale factor
    {
        0: u16(10240),  # WHRtg
        1: u16(5660),  # WHAvail = WHRtg * SoC * SoH
        2: u16(56),  # SoC %
        3: u16(98),  # SoH %
        4: u16(1),  # Sta
        5: i16(0),  # WH_SF
    },
)

BATTERY = build(
    50000,
    common("GridCoop Test", "HV Battery 10.2", "1.4.2", "BAT-0001"),
    BATTERY_802,
    STORAGE_124,
    CAPACITY_713,
)

# --- meter -----------------------------------------------------------------------

METER_203 = model(
    203,
    105,
    {
        0: i16(1060),  # A 10.60
        1: i16(350),
        2: i16(360),
        3: i16(350),
        4: i16(-2),
        5: i16(2304),  # PhV 230.4
        6: i16(2301),
        7: i16(2306),
        8: i16(2305),
        9: i16(3991),
        13: i16(-1),  # V_SF
        14: i16(4998),  # Hz 49.98
        15: i16(-2),
        16: i16(-2450),  # W: exporting 2.45 kW
        17: i16(-800),
        18: i16(-850),
        19: i16(-800),
        20: i16(0),
        21: i16(2460),
        25: i16(0),
        26: i16(-150),
        30: i16(0),
        31: i16(-99),
        35: i16(-2),
        36: u32(8_523_100),  # TotWhExp
        38: NI_U32,
        40: NI_U32,
        42: NI_U32,
        44: u32(3_201_550),  # TotWhImp
        46: NI_U32,
        48: NI_U32,
        50: NI_U32,
        52: i16(0),  # TotWh_SF
        103: u32(0),
    },
)


def meter(base: int) -> RegisterMap:
    return build(
        base,
        common("Fronius", "Smart Meter TS 65A-3", "1.3", "41234567"),
        METER_203,
    )


# --- DER (model 701) ------------------------------------------------------------------

DER_701 = model(
    701,
    153,
    {
        0: u16(3),  # THREE_PHASE
        1: u16(2),  # ON
        2: u16(4),  # InvSt MPPT
        3: u16(2),  # CONNECTED
        4: u32(0),
        6: u32(0),
        8: i16(4520),  # W
        9: i16(4550),
        10: i16(-80),
        11: u16(995),
        12: i16(655),  # A 6.55
        13: i16(3988),  # LLV 398.8
        14: i16(2302),  # LNV 230.2
        15: u32(50012),  # Hz 50.012
        17: u64(1_234_567),  # TotWhInj
        21: u64(0),
        25: u64(0),
        29: u64(0),
        33: i16(NI_I16),
        34: i16(38),  # TmpCab
        35: i16(NI_I16),
        36: i16(NI_I16),
        37: i16(NI_I16),
        38: i16(NI_I16),
        39: i16(1507),  # WL1
        45: i16(2302),
        62: i16(1506),
        68: i16(2301),
        85: i16(1507),
        91: i16(2303),
        108: u16(NI_U16),
        109: NI_U32,
        111: i16(-2),  # A_SF
        112: i16(-1),  # V_SF
        113: i16(-3),  # Hz_SF
        114: i16(0),  # W_SF
        115: i16(-3),
        116: i16(0),
        117: i16(0),
        118: i16(0),  # TotWh_SF
        119: i16(0),
        120: i16(0),  # Tmp_SF
    },
)

DER = build(0, common("GridCoop Test", "DER 5kW", "2.0", "DER-0001"), DER_701)

NO_SUNSPEC = RegisterMap(40000, [0x1234, 0x5678, 1, 66] + [0] * 66)
