"""What the household chose on GridCoop's own entities (restored by those entities on start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time


@dataclass
class Settings:
    participate: bool = True
    profile: str = "max_income"
    daily_cap: float = 0.0  # currency per day spent on the market; 0 = no cap
    auto_dispatch: dict[str, bool] = field(default_factory=dict)  # subentry id -> on
    battery_reserve_pct: dict[str, float] = field(default_factory=dict)
    # The charge the plan leaves in each battery at the end of its 24 h horizon; 0 = no target.
    battery_end_target_pct: dict[str, float] = field(default_factory=dict)
    discomfort: dict[str, float] = field(default_factory=dict)  # currency per hour of delay
    ev_departure: dict[str, time] = field(default_factory=dict)
    deferred_until: dict[str, datetime] = field(default_factory=dict)  # set by gridcoop.defer_load
