"""Flexible appliance runs and EV sessions, drawn per home and day (local time).

- Dishwasher: on 70 % of days, 1.8 kWh over 2 h (900 W), may start from 19:00-21:30 and must
  finish by 07:00; each hour of delay costs the household 2 c.
- Washing machine: on 45 % of days, 1.5 kWh over 1.5 h (1 kW), from 07:00-10:00 within an
  8-10 h window; 4 c per hour of delay.
- Water heater (40 % of homes): every day 2 kWh at up to 2 kW, interruptible, within a daytime
  window its owner set once: opening between 08:00 and 10:00, 7-9 h long (homes differ, so the
  heaters of a street do not all switch on at the same minute); 0.5 c per hour of delay.
- EV: plugged in on 85 % of weekdays at about 17:45 (sd 1.25 h, 15:00-22:00) and on half of the
  weekend days at about 15:00 (sd 3 h); leaves at about 07:15 (sd 45 min, 05:30-09:30). Each day
  away uses 12 kWh (sd 4, 4-30 kWh) of the battery. Target at departure: 80 % of capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from hub.sim.calendar import Calendar
from hub.sim.config import SLOTS_PER_DAY
from hub.sim.population import HomeSpec

EV_TARGET_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Job:
    id: str  # unique per home, a valid bid asset id
    power_w: float
    energy_wh: float
    earliest: int  # first slot it may run in
    latest: int  # it must be done before this slot
    interruptible: bool
    discomfort_per_hour: float

    @property
    def run_slots(self) -> int:
        return max(round(self.energy_wh / (self.power_w / 4)), 1)

    @property
    def slot_wh(self) -> float:
        return self.power_w / 4


@dataclass(frozen=True, slots=True)
class EVSession:
    arrive: int  # first slot plugged in
    depart: int  # first slot gone
    drive_wh: float  # energy driven since the previous departure


def _slot(day: int, hour: float) -> int:
    return day * SLOTS_PER_DAY + round(hour * 4)


def draw_jobs(home: HomeSpec, calendar: Calendar, rng: np.random.Generator) -> list[Job]:
    jobs = []
    heater_opens = 8.0 + int(rng.integers(0, 9)) / 4  # the home's heater timer, local hours
    heater_hours = 7.0 + int(rng.integers(0, 9)) / 4
    for day in range(-(-calendar.total // SLOTS_PER_DAY)):
        if rng.random() < 0.7:
            start = _slot(day, 19.0 + rng.integers(0, 11) / 4)
            jobs.append(Job(f"dw-{day}", 900.0, 1_800.0, start, _slot(day + 1, 7.0), False, 2.0))
        if rng.random() < 0.45:
            start = _slot(day, 7.0 + rng.integers(0, 13) / 4)
            window = int(rng.integers(32, 41))
            jobs.append(Job(f"wm-{day}", 1_000.0, 1_500.0, start, start + window, False, 4.0))
        if home.water_heater:
            opens = _slot(day, heater_opens)
            closes = _slot(day, heater_opens + heater_hours)
            jobs.append(Job(f"wh-{day}", 2_000.0, 2_000.0, opens, closes, True, 0.5))
    return [job for job in jobs if job.latest <= calendar.total]


def draw_ev_sessions(
    home: HomeSpec, calendar: Calendar, rng: np.random.Generator
) -> list[EVSession]:
    if home.ev is None:
        return []
    sessions = []
    weekday0 = calendar.t0.astimezone(ZoneInfo(calendar.timezone)).weekday()
    previous_departure = -1
    for day in range(-(-calendar.total // SLOTS_PER_DAY)):
        weekend = (weekday0 + day) % 7 >= 5
        if rng.random() >= (0.5 if weekend else 0.85):
            continue
        mean, sd = (15.0, 3.0) if weekend else (17.75, 1.25)
        earliest = 9.5 if weekend else 15.0
        arrive = _slot(day, float(np.clip(rng.normal(mean, sd), earliest, 22.0)))
        depart = _slot(day + 1, float(np.clip(rng.normal(7.25, 0.75), 5.5, 9.5)))
        if arrive <= previous_departure or depart > calendar.total:
            continue
        drive = float(np.clip(rng.normal(12_000.0, 4_000.0), 4_000.0, 30_000.0))
        sessions.append(EVSession(arrive, depart, drive))
        previous_departure = depart
    return sessions
