"""Guarded writes: plan a setpoint within the device's ratings, write it, verify it, revert it.

Safety rules (also in docs/devices.md):
  * every request is checked against the device's own ratings before anything is sent;
  * every write is read back and must match, otherwise the previous values are restored
    and ReadBackMismatchError is raised;
  * every write carries a revert time: the device's own RvrtTms point is set, and this
    process also restores the previous registers when the time is up (or on close).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from .decode import ModelValues, encode_scaled, scale_exponent_of
from .errors import OutOfRangeError, ReadBackMismatchError, SunSpecError, WriteRefusedError
from .modbus_io import ModbusRegisters
from .models import IMMEDIATE_CONTROLS, MODELS, STORAGE

_LOG = logging.getLogger(__name__)

PV_POWER_LIMIT = "pv_power_limit"
BATTERY_POWER = "battery_power"

MAX_REVERT_S = 0xFFFE  # RvrtTms is uint16 seconds; 0xFFFF means "not implemented"
_STORCTL_CHARGE_AND_DISCHARGE_LIMITS = 0b11
_ENABLED = 1


@dataclass(frozen=True, slots=True)
class RegisterWrite:
    address: int
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WritePlan:
    control: str
    description: str
    writes: tuple[RegisterWrite, ...]
    previous: tuple[RegisterWrite, ...]  # the same registers as found before the write


def device_revert_seconds(revert_after_s: float) -> int:
    if not math.isfinite(revert_after_s) or not 0 < revert_after_s <= MAX_REVERT_S:
        raise OutOfRangeError(f"revert_after_s={revert_after_s} must be in (0, {MAX_REVERT_S}] s")
    return max(1, math.ceil(revert_after_s))


def _current(model: ModelValues, offset: int, count: int) -> tuple[int, ...]:
    return model.registers[offset : offset + count]


def _snapshot(model: ModelValues, offset: int, count: int) -> RegisterWrite:
    if offset + count > len(model.registers):
        raise WriteRefusedError(
            f"model {model.model_id} at {model.address} is too short ({model.length}) "
            f"for registers {offset}..{offset + count - 1}"
        )
    return RegisterWrite(model.body_address + offset, _current(model, offset, count))


def _exponent(model: ModelValues, sf_name: str, table_model: int) -> int:
    exponent = scale_exponent_of(model, MODELS[table_model], sf_name)
    if exponent is None:
        raise WriteRefusedError(f"model {table_model}: {sf_name} is not implemented; cannot scale")
    return exponent


def _rating(model: ModelValues | None, name: str) -> float | None:
    value = model.number(name) if model is not None else None
    return value if value is not None and value > 0 else None


def plan_pv_power_limit(
    controls: ModelValues, nameplate: ModelValues | None, watts: float, revert_after_s: float
) -> WritePlan:
    """Model 123: WMaxLimPct = watts / WRtg, enabled, with WMaxLimPct_RvrtTms set."""
    rating = _rating(nameplate, "WRtg")
    if rating is None:
        raise WriteRefusedError("PV power limit needs the WRtg rating (model 120)")
    if not math.isfinite(watts) or not 0 <= watts <= rating:
        raise OutOfRangeError(f"PV power limit {watts} W is outside 0..{rating:g} W (WRtg)")
    rvrt = device_revert_seconds(revert_after_s)
    pct = watts / rating * 100
    raw = encode_scaled(
        pct, _exponent(controls, "WMaxLimPct_SF", 123), IMMEDIATE_CONTROLS.point("WMaxLimPct")
    )
    before = _snapshot(controls, 3, 5)  # WMaxLimPct, _WinTms, _RvrtTms, _RmpTms, WMaxLim_Ena
    win, _, ramp = before.values[1:4]
    block = RegisterWrite(before.address, (raw, win, rvrt, ramp, _ENABLED))
    return WritePlan(
        PV_POWER_LIMIT,
        f"limit PV output to {watts:g} W ({pct:.1f} % of {rating:g} W) for {rvrt} s",
        (block,),
        (before,),
    )


def plan_battery_power(
    storage: ModelValues,
    battery: ModelValues | None,
    nameplate: ModelValues | None,
    watts: float,
    revert_after_s: float,
) -> WritePlan:
    """Model 124 setpoint: positive watts charge, negative discharge, 0 holds.

    Uses the charge window of model 124: with both limits enabled (StorCtl_Mod=3) the
    battery power is held within [-OutWRte, +InWRte] % of WChaMax, so InWRte=p and
    OutWRte=-p pins it to p (Fronius GEN24 semantics; other vendors may differ).
    """
    base = _rating(storage, "WChaMax")
    if base is None:
        raise WriteRefusedError("battery power setpoint needs WChaMax (model 124)")
    charge_max = min(
        r for r in (base, _rating(battery, "WChaRteMax"), _rating(nameplate, "MaxChaRte")) if r
    )
    discharge_max = min(
        r
        for r in (base, _rating(battery, "WDisChaRteMax"), _rating(nameplate, "MaxDisChaRte"))
        if r
    )
    if not math.isfinite(watts) or not -discharge_max <= watts <= charge_max:
        raise OutOfRangeError(
            f"battery power {watts} W is outside -{discharge_max:g}..{charge_max:g} W "
            "(device discharge/charge ratings)"
        )
    rvrt = device_revert_seconds(revert_after_s)
    exponent = _exponent(storage, "InOutWRte_SF", 124)
    pct = watts / base * 100
    in_raw = encode_scaled(pct, exponent, STORAGE.point("InWRte"))
    out_raw = encode_scaled(-pct, exponent, STORAGE.point("OutWRte"))
    mode_before = _snapshot(storage, 3, 1)  # StorCtl_Mod
    rates_before = _snapshot(storage, 10, 4)  # OutWRte, InWRte, _WinTms, _RvrtTms
    win = rates_before.values[2]
    rates = RegisterWrite(rates_before.address, (out_raw, in_raw, win, rvrt))
    mode = RegisterWrite(mode_before.address, (_STORCTL_CHARGE_AND_DISCHARGE_LIMITS,))
    verb = "charge at" if watts > 0 else "discharge at" if watts < 0 else "hold at"
    return WritePlan(
        BATTERY_POWER,
        f"battery {verb} {abs(watts):g} W for {rvrt} s",
        # Rates first, then enable the mode; on restore, the mode goes back first.
        (rates, mode),
        (mode_before, rates_before),
    )


@dataclass(slots=True)
class _Pending:
    original: tuple[RegisterWrite, ...]
    task: asyncio.Task[None]


class GuardedWriter:
    """Executes write plans with read-back verification and revert timers."""

    def __init__(self, io: ModbusRegisters) -> None:
        self._io = io
        self._lock = asyncio.Lock()  # plan + write + verify is one step, also vs. reverts
        self._pending: dict[str, _Pending] = {}

    @property
    def pending(self) -> Mapping[str, asyncio.Task[None]]:
        return {name: p.task for name, p in self._pending.items()}

    async def apply(
        self, make_plan: Callable[[], Awaitable[WritePlan]], revert_after_s: float
    ) -> WritePlan:
        async with self._lock:
            # Planned under the lock so the snapshot cannot be a value a revert is replacing.
            plan = await make_plan()
            previous = self._pending.pop(plan.control, None)
            if previous is not None:
                previous.task.cancel()
            # Chained writes revert to what was there before the *first* one.
            original = previous.original if previous is not None else plan.previous
            try:
                await self._write_verified(plan.writes)
            except SunSpecError:
                await self._restore_best_effort(plan.control, original)
                raise
            task = asyncio.create_task(self._revert_later(plan.control, revert_after_s))
            self._pending[plan.control] = _Pending(original, task)
            _LOG.info("%s: %s", self._io.where, plan.description)
            return plan

    async def revert(self, control: str) -> None:
        """Restore the registers a control changed, now, and drop its timer."""
        async with self._lock:
            pending = self._pending.pop(control, None)
            if pending is None:
                return
            pending.task.cancel()
            await self._write_verified(pending.original)

    async def revert_all(self) -> None:
        for control in list(self._pending):
            try:
                await self.revert(control)
            except SunSpecError:
                _LOG.exception("%s: could not revert %s", self._io.where, control)

    async def _revert_later(self, control: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        async with self._lock:
            pending = self._pending.get(control)
            if pending is None:
                return
            try:
                await self._write_verified(pending.original)
                _LOG.info("%s: reverted %s", self._io.where, control)
            except SunSpecError:
                # The device's own RvrtTms is the fallback if this restore fails.
                _LOG.exception("%s: revert of %s failed", self._io.where, control)
            finally:
                # Pending until the restore is written (or failed), not merely started: whoever
                # waits for no pending reverts then reads the restored registers.
                if self._pending.get(control) is pending:
                    del self._pending[control]

    async def _write_verified(self, writes: tuple[RegisterWrite, ...]) -> None:
        for write in writes:
            await self._io.write(write.address, write.values)
            echoed = tuple(await self._io.read(write.address, len(write.values)))
            if echoed != write.values:
                raise ReadBackMismatchError(
                    f"{self._io.where}: wrote {list(write.values)} at {write.address}, "
                    f"read back {list(echoed)}"
                )

    async def _restore_best_effort(self, control: str, original: tuple[RegisterWrite, ...]) -> None:
        for write in original:
            try:
                await self._io.write(write.address, write.values)
            except SunSpecError:
                _LOG.exception("%s: restoring %s after a failed write", self._io.where, control)
