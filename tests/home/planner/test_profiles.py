"""Strategy profiles change the objective, and with it the plan."""

from __future__ import annotations

from gridcoop_home.planner import PlanRequest, Profile, Site, Strategy, Tariffs, plan

from tests.home.planner.factory import START, hourly, load, request

HOURS = 16
# Island home (tariffs only): night 12 c/kWh, day 25, feed-in 10, PV from 10:00 to 14:00. The
# load may start at midnight and waiting costs 1 c/h: on cost alone, running at once (24 c) beats
# waiting for PV (20 c of lost feed-in + 10 c of waiting).
RETAIL = hourly([12] * 6 + [25] * 10)
PV = hourly([0] * 10 + [3_000] * 4 + [0] * 2)
NIGHT_G = hourly([400] * 6 + [300] * 10)


def pv_home(profile: Profile) -> PlanRequest:
    return request(
        [0] * HOURS,
        island=True,
        price_forecast=None,
        pv_forecast_w=PV,
        tariffs=Tariffs(retail=RETAIL, feed_in=[10.0] * 64, carbon_g_per_kwh=NIGHT_G),
        loads=(load(latest_finish=START.replace(hour=16), discomfort_per_hour=1),),
        strategy=Strategy(profile=profile),
    )


def start_hour(profile: Profile) -> int:
    result = plan(pv_home(profile))
    start = result.loads[0].start
    assert start is not None
    return start.hour


def test_max_income_runs_the_load_in_the_cheap_night() -> None:
    assert start_hour(Profile.MAX_INCOME) < 6


def test_min_carbon_shifts_the_load_into_pv_hours() -> None:
    assert 10 <= start_hour(Profile.MIN_CARBON) < 14


def test_min_carbon_plan_emits_less_than_max_income_plan() -> None:
    green = plan(pv_home(Profile.MIN_CARBON)).expected_carbon_g
    cheap = plan(pv_home(Profile.MAX_INCOME)).expected_carbon_g
    assert green is not None and cheap is not None
    assert green < cheap


def test_missing_carbon_intensity_falls_back_with_a_warning() -> None:
    req = request([20] * 2, strategy=Strategy(profile=Profile.MIN_CARBON))
    result = plan(req)
    assert any("carbon intensity missing" in w for w in result.warnings)


def test_stable_bill_keeps_cost_near_the_budget() -> None:
    horizon_budget = 150.0  # base load alone costs 144 c over the day
    monthly = horizon_budget * 730.5 / 24
    sauna = load(id="sauna", optional=True, skip_cost=70, latest_finish=START.replace(hour=23))

    def cost(profile: Profile) -> float:
        req = request(
            [20] * 24,
            site=Site(grid_limit_w=20_000),
            loads=(sauna,),
            strategy=Strategy(profile=profile, monthly_budget=monthly),
        )
        return plan(req).expected_cost

    # Running the sauna costs 40 c, below its 70 c value, so max_income runs it (184 c); stable
    # bill counts the 34 c over budget twice and skips it.
    assert abs(cost(Profile.MAX_INCOME) - 184) < 1
    assert abs(cost(Profile.STABLE_BILL) - horizon_budget) < abs(
        cost(Profile.MAX_INCOME) - horizon_budget
    )
