"""A small clear-sky PV model: enough to plan with when no PV forecast arrives.

Sun position from the usual textbook approximations (Cooper's declination, Spencer-style equation of
time), global horizontal irradiance from the Haurwitz clear-sky model
    GHI = 1098 * cos(z) * exp(-0.057 / cos(z))  W/m2,
and PV power = peak power * GHI / 1000 W/m2. It ignores panel tilt and orientation, temperature and
clouds; the caller scales it by the system's recent measured yield, which absorbs most of that.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime


def cos_zenith(latitude: float, longitude: float, when: datetime) -> float:
    """Cosine of the solar zenith angle at `when` (timezone-aware); negative at night."""
    utc = when.astimezone(UTC)
    day = utc.timetuple().tm_yday
    declination = math.radians(23.45) * math.sin(math.radians(360 / 365 * (284 + day)))
    b = math.radians(360 / 365 * (day - 81))
    equation_of_time_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    utc_hours = utc.hour + utc.minute / 60 + utc.second / 3600
    solar_hours = utc_hours + longitude / 15 + equation_of_time_min / 60
    hour_angle = math.radians(15 * (solar_hours - 12))
    lat = math.radians(latitude)
    return math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * math.cos(
        hour_angle
    )


def clear_sky_pv_w(latitude: float, longitude: float, peak_w: float, when: datetime) -> float:
    """Clear-sky PV output in W at `when` for a system of `peak_w` (horizontal-plane estimate)."""
    cz = cos_zenith(latitude, longitude, when)
    if cz <= 0.01:  # sun below or on the horizon: the Haurwitz formula blows up there
        return 0.0
    ghi = 1098 * cz * math.exp(-0.057 / cz)
    return peak_w * ghi / 1000
