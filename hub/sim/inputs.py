"""Everything that happens to one home whatever it decides: load, sun, appliance runs, EV trips."""

from __future__ import annotations

import numpy as np

from hub.sim.appliances import draw_ev_sessions, draw_jobs
from hub.sim.calendar import Calendar
from hub.sim.demand import base_load_w
from hub.sim.devices import HomeInputs
from hub.sim.population import HomeSpec
from hub.sim.weather import Weather, pv_power_w


def home_inputs(
    home: HomeSpec, calendar: Calendar, h0: np.ndarray, weather: Weather, seed: int
) -> HomeInputs:
    rng = np.random.default_rng([seed, 3, home.index])
    forecast, measured = base_load_w(h0, home, rng)
    return HomeInputs(
        base_forecast_w=forecast,
        base_w=measured,
        pv_forecast_w=pv_power_w(weather, home, forecast=True),
        pv_w=pv_power_w(weather, home, forecast=False),
        jobs=draw_jobs(home, calendar, rng),
        sessions=draw_ev_sessions(home, calendar, rng),
    )
