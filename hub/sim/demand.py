"""Household base load from demandlib: the BDEW standard load profile H0, dynamised, per home.

The profile (`h0_dyn`: H0 times the BDEW dynamisation factor, in local time, no public holidays)
is scaled to the home's inflexible annual consumption; that is also the forecast the home plans
with. The measured load multiplies it by lognormal AR(1) noise (sd 0.35 in log space, 0.7
correlation from one 15 minutes to the next, mean 1): one home is much spikier than the average
of thousands that H0 describes.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from demandlib import bdew  # type: ignore[import-untyped]

from hub.sim.calendar import Calendar
from hub.sim.population import HomeSpec

NOISE_SIGMA = 0.35
NOISE_RHO = 0.7


@cache
def _h0_year(year: int) -> pd.Series:
    """Share of the annual energy in each 15-minute slot of `year` (local time, sums to ~1)."""
    # demandlib turns warnings into errors globally while it builds the profiles: keep that local.
    with warnings.catch_warnings():
        profile = bdew.ElecSlp(year).get_profiles("h0_dyn")["h0_dyn"]
    return profile


def h0_shares(calendar: Calendar) -> np.ndarray:
    """The H0 share of annual energy for each slot of the calendar, looked up in local time."""
    times = pd.date_range(calendar.t0, periods=calendar.total, freq="15min")
    local = times.tz_convert(calendar.timezone).tz_localize(None)
    years = sorted(set(local.year))
    profile = pd.concat([_h0_year(year) for year in years])
    profile = profile[~profile.index.duplicated()]
    return np.asarray(profile.reindex(local, method="ffill").to_numpy(), dtype=float)


def base_load_w(
    shares: np.ndarray, home: HomeSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(forecast, measured) inflexible load per slot in W."""
    forecast = shares * home.base_kwh * 1000 * 4  # Wh in the slot -> average W
    noise = np.empty(len(shares))
    state = 0.0
    for i in range(len(shares)):
        state = NOISE_RHO * state + np.sqrt(1 - NOISE_RHO**2) * rng.normal(0.0, NOISE_SIGMA)
        noise[i] = state
    measured = forecast * np.exp(noise - NOISE_SIGMA**2 / 2)
    return forecast, measured
