"""The simulated period: 15-minute slots from local midnight of the start day, in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.sim.config import SLOT_SECONDS, SLOTS_PER_DAY, SimConfig

SLOT = timedelta(seconds=SLOT_SECONDS)


@dataclass(frozen=True, slots=True)
class Calendar:
    t0: datetime  # UTC start of slot 0 (local midnight of the first day)
    slots: int  # simulated slots
    extra: int  # slots of inputs generated past the end, for the last plans' horizons
    timezone: str

    @classmethod
    def of(cls, config: SimConfig) -> Calendar:
        local = datetime.combine(config.start, time(0), ZoneInfo(config.timezone))
        return cls(local.astimezone(UTC), config.slots, config.horizon_slots, config.timezone)

    @property
    def total(self) -> int:
        return self.slots + self.extra

    def time_of(self, slot: int) -> datetime:
        return self.t0 + slot * SLOT

    def start_of(self, slot: int) -> int:
        """The slot's market interval start, UTC seconds."""
        return int(self.t0.timestamp()) + slot * SLOT_SECONDS

    def local_hour(self, slot: int) -> float:
        local = self.time_of(slot).astimezone(ZoneInfo(self.timezone))
        return local.hour + local.minute / 60

    def day_of(self, slot: int) -> int:
        return slot // SLOTS_PER_DAY
