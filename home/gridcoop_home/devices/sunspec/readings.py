"""Typed summaries of decoded models, shaped for Home Assistant sensors.

Energy counters are lifetime totals in Wh (suitable for `total_increasing` sensors on
the Energy dashboard); power in W. Every field is None when the device does not
implement the point, so a sensor can report "unavailable" instead of a fake 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decode import ModelValues

# Operating-state enum shared by models 101-103 and 111-113 (St), 160 (DCSt) and 701 (InvSt).
INVERTER_STATES = {
    1: "off",
    2: "sleeping",
    3: "starting",
    4: "mppt",
    5: "throttled",
    6: "shutting_down",
    7: "fault",
    8: "standby",
}
# Charge-status enum shared by models 124 and 802 (ChaSt).
CHARGE_STATES = {
    1: "off",
    2: "empty",
    3: "discharging",
    4: "charging",
    5: "full",
    6: "holding",
    7: "testing",
}


def _state(table: dict[int, str], value: object) -> str | None:
    return table.get(value) if isinstance(value, int) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    manufacturer: str | None
    model: str | None
    version: str | None
    serial_number: str | None


@dataclass(frozen=True, slots=True)
class MpptReading:
    index: int
    label: str | None
    dc_power_w: float | None
    dc_voltage_v: float | None
    dc_current_a: float | None
    energy_wh: float | None


@dataclass(frozen=True, slots=True)
class InverterReading:
    source_model: int
    ac_power_w: float | None
    energy_wh_total: float | None  # lifetime AC energy produced
    ac_voltage_v: float | None  # phase A to neutral (or average LN for model 701)
    frequency_hz: float | None
    dc_power_w: float | None
    temperature_c: float | None
    operating_state: str | None
    mppt: tuple[MpptReading, ...] = ()


@dataclass(frozen=True, slots=True)
class BatteryReading:
    source_model: int
    soc_pct: float | None
    # Sign as the device reports it; SunSpec does not fix it and vendors differ
    # (most report positive while discharging).
    power_w: float | None
    soh_pct: float | None
    capacity_wh: float | None
    voltage_v: float | None
    charge_state: str | None


@dataclass(frozen=True, slots=True)
class MeterReading:
    source_model: int
    # Sign as the meter reports it; grid meters usually report import as positive.
    power_w: float | None
    import_wh: float | None
    export_wh: float | None
    voltage_v: float | None  # average line-to-neutral
    frequency_hz: float | None
    phase_power_w: tuple[float | None, float | None, float | None]


def device_info(common: ModelValues) -> DeviceInfo:
    p = common.points
    return DeviceInfo(
        _text(p.get("Mn")), _text(p.get("Md")), _text(p.get("Vr")), _text(p.get("SN"))
    )


def mppt_readings(mppt: ModelValues) -> tuple[MpptReading, ...]:
    readings = []
    for index, module in enumerate(mppt.repeats):
        view = ModelValues(mppt.model_id, mppt.name, mppt.address, mppt.length, module)
        readings.append(
            MpptReading(
                index=index,
                label=_text(module.get("IDStr")),
                dc_power_w=view.number("DCW"),
                dc_voltage_v=view.number("DCV"),
                dc_current_a=view.number("DCA"),
                energy_wh=view.number("DCWH"),
            )
        )
    return tuple(readings)


def inverter_reading(inverter: ModelValues, mppt: ModelValues | None = None) -> InverterReading:
    """Summary of an inverter model (101-103, or float 111-113) plus optional MPPT model 160."""
    return InverterReading(
        source_model=inverter.model_id,
        ac_power_w=inverter.number("W"),
        energy_wh_total=inverter.number("WH"),
        ac_voltage_v=inverter.number("PhVphA"),
        frequency_hz=inverter.number("Hz"),
        dc_power_w=inverter.number("DCW"),
        temperature_c=inverter.number("TmpCab"),
        operating_state=_state(INVERTER_STATES, inverter.points.get("St")),
        mppt=mppt_readings(mppt) if mppt is not None else (),
    )


def der_reading(der: ModelValues, mppt: ModelValues | None = None) -> InverterReading:
    """Summary of DER AC measurement model 701 (IEEE 1547-2018 style devices)."""
    return InverterReading(
        source_model=der.model_id,
        ac_power_w=der.number("W"),
        energy_wh_total=der.number("TotWhInj"),
        ac_voltage_v=der.number("LNV"),
        frequency_hz=der.number("Hz"),
        dc_power_w=None,
        temperature_c=der.number("TmpCab"),
        operating_state=_state(INVERTER_STATES, der.points.get("InvSt")),
        mppt=mppt_readings(mppt) if mppt is not None else (),
    )


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def battery_reading(
    battery: ModelValues | None,
    storage: ModelValues | None,
    capacity: ModelValues | None,
    nameplate: ModelValues | None = None,
) -> BatteryReading:
    """Merge battery base (802), storage controls (124), storage capacity (713) and nameplate (120).

    Model 802 is the most specific source, so it wins; the others fill its gaps.
    """
    sources = [m for m in (battery, capacity, storage) if m is not None]
    if not sources:
        raise ValueError("battery_reading needs at least one of models 802, 713, 124")

    def pick(model: ModelValues | None, name: str) -> float | None:
        return model.number(name) if model is not None else None

    charge = battery.points.get("ChaSt") if battery is not None else None
    if charge is None and storage is not None:
        charge = storage.points.get("ChaSt")
    return BatteryReading(
        source_model=sources[0].model_id,
        soc_pct=_first(pick(battery, "SoC"), pick(capacity, "SoC"), pick(storage, "ChaState")),
        power_w=pick(battery, "W"),
        soh_pct=_first(pick(battery, "SoH"), pick(capacity, "SoH")),
        capacity_wh=_first(
            pick(battery, "WHRtg"), pick(capacity, "WHRtg"), pick(nameplate, "WHRtg")
        ),
        voltage_v=_first(pick(battery, "V"), pick(storage, "InBatV")),
        charge_state=_state(CHARGE_STATES, charge),
    )


def meter_reading(meter: ModelValues) -> MeterReading:
    """Summary of a meter model (201-204, or float 211-214): both name their points alike."""
    return MeterReading(
        source_model=meter.model_id,
        power_w=meter.number("W"),
        import_wh=meter.number("TotWhImp"),
        export_wh=meter.number("TotWhExp"),
        voltage_v=meter.number("PhV"),
        frequency_hz=meter.number("Hz"),
        phase_power_w=(meter.number("WphA"), meter.number("WphB"), meter.number("WphC")),
    )
