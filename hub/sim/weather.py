"""Sun and clouds with pvlib: clear-sky irradiance, stochastic cloudiness, PV power per home.

Nothing is downloaded: the Ineichen clear-sky model gets a fixed Linke turbidity (pvlib would
otherwise look it up in a data file), solar position is computed (NREL SPA in numpy), Erbs splits
global irradiance into direct and diffuse, the isotropic sky model transposes it onto each roof,
the Faiman model gives the cell temperature and PVWatts the DC power.

Clouds: every (local) day draws a clear-sky index from a Beta distribution (mean 0.62); within the
day the index wanders as an AR(1) process whose spread is largest on half-cloudy days. The
forecast a home plans with knows the day's index with an error (sd 0.12) and none of the
within-day variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib  # type: ignore[import-untyped]

from hub.sim.calendar import SLOT, Calendar
from hub.sim.config import SLOTS_PER_DAY, SimConfig
from hub.sim.population import HomeSpec

LINKE_TURBIDITY = 3.0
DAILY_INDEX_BETA = (2.5, 1.53)  # mean 0.62
FORECAST_ERROR_SD = 0.12
INTRADAY_RHO = 0.85
SYSTEM_LOSSES = 0.86  # inverter, wiring, soiling, mismatch
GAMMA_PDC = -0.0037  # power temperature coefficient, 1/K


@dataclass(frozen=True, slots=True)
class Weather:
    times: pd.DatetimeIndex  # slot midpoints, UTC
    zenith: np.ndarray
    azimuth: np.ndarray
    ghi_clear: np.ndarray
    ghi: np.ndarray
    ghi_forecast: np.ndarray
    temp_air: np.ndarray
    daily_index: np.ndarray  # the clear-sky index drawn for each day


def make_weather(config: SimConfig, calendar: Calendar) -> Weather:
    rng = np.random.default_rng([config.seed, 2])
    times = pd.date_range(calendar.t0 + SLOT / 2, periods=calendar.total, freq="15min")
    site = pvlib.location.Location(config.latitude, config.longitude, tz="UTC")
    sun = site.get_solarposition(times)
    clear = site.get_clearsky(
        times, model="ineichen", linke_turbidity=LINKE_TURBIDITY, solar_position=sun
    )
    days = -(-calendar.total // SLOTS_PER_DAY)
    daily = rng.beta(*DAILY_INDEX_BETA, size=days)
    forecast = np.clip(daily + rng.normal(0.0, FORECAST_ERROR_SD, size=days), 0.05, 1.0)
    index = np.empty(calendar.total)
    noise = 0.0
    for slot in range(calendar.total):
        k = daily[slot // SLOTS_PER_DAY]
        spread = 0.3 * 4 * k * (1 - k)
        noise = INTRADAY_RHO * noise + np.sqrt(1 - INTRADAY_RHO**2) * rng.normal(0.0, spread)
        index[slot] = np.clip(k + noise, 0.03, 1.05)
    ghi_clear = clear["ghi"].to_numpy()
    hours = np.asarray(times.tz_convert(config.timezone).hour, dtype=float)
    return Weather(
        times=times,
        zenith=sun["apparent_zenith"].to_numpy(),
        azimuth=sun["azimuth"].to_numpy(),
        ghi_clear=ghi_clear,
        ghi=ghi_clear * index,
        ghi_forecast=ghi_clear * np.repeat(forecast, SLOTS_PER_DAY)[: calendar.total],
        temp_air=12.0 + 6.0 * np.sin(2 * np.pi * (hours - 9.0) / 24),
        daily_index=daily,
    )


def pv_power_w(weather: Weather, home: HomeSpec, *, forecast: bool) -> np.ndarray:
    """AC power per slot (W) of the home's PV system, measured or as forecast."""
    if home.pv_peak_w <= 0:
        return np.zeros(len(weather.times))
    ghi = weather.ghi_forecast if forecast else weather.ghi
    split = pvlib.irradiance.erbs(ghi, weather.zenith, weather.times)
    poa = pvlib.irradiance.get_total_irradiance(
        home.pv_tilt,
        home.pv_azimuth,
        weather.zenith,
        weather.azimuth,
        np.asarray(split["dni"]),
        ghi,
        np.asarray(split["dhi"]),
    )["poa_global"]
    poa = np.nan_to_num(np.asarray(poa, dtype=float))
    cell = pvlib.temperature.faiman(poa, weather.temp_air, 1.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa, cell, home.pv_peak_w, GAMMA_PDC)
    power = np.clip(np.nan_to_num(np.asarray(dc, dtype=float)) * SYSTEM_LOSSES, 0.0, None)
    return np.asarray(power, dtype=float)
