"""The MILP: one home over the horizon, built with pulp and solved by HiGHS.

Power variables are kW per slot, energy kWh, money minor units. Every physical limit is hard except
the ones that can be impossible to meet (grid import limit, battery reserve, EV target): those
have explicit penalties, so the model is always feasible and the plan reports what it gave up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulp

from gridcoop_home.planner.inputs import SLOT_HOURS, Profile
from gridcoop_home.planner.problem import HOURS_PER_MONTH, LoadSpec, Problem
from gridcoop_home.planner.solver import highs

DT = SLOT_HOURS
# Penalties, minor units per kWh. Ordered by what gives way first: the EV target, then the
# battery reserve, and only then the grid connection (a fuse is physical).
EV_SHORTFALL_PENALTY = 1_000.0
RESERVE_PENALTY = 2_000.0
GRID_EXCESS_PENALTY = 10_000.0
# A hundredth of a minor unit per kWh moved through the meter: breaks ties between equal-cost
# plans in favour of not importing and exporting at once.
TIE_BREAK = 0.01

Expr = pulp.LpAffineExpression | pulp.LpVariable


@dataclass(frozen=True, slots=True)
class Slot0Fix:
    """Pin one flexible asset's first-slot action (used to price that action by re-solving).

    asset: "battery_charge", "battery_discharge", "battery" (its net power), "ev" or
    "load:<id>". run=True runs it at the most it can do in slot 0, run=False forbids it in slot 0;
    `kw` pins it to that power instead. external=True (with run=True) takes the pinned slot-0
    energy out of the home's energy balance, as if bought or sold separately.
    """

    asset: str
    run: bool
    external: bool = False
    kw: float | None = None


@dataclass(frozen=True, slots=True)
class Solution:
    objective: float
    cost: float  # money paid minus earned over the horizon, minor units
    grid_import: tuple[float, ...]
    grid_export: tuple[float, ...]
    pv_used: tuple[float, ...]
    grid_excess: tuple[float, ...]
    charge: tuple[float, ...]
    discharge: tuple[float, ...]
    soc: tuple[float, ...]
    reserve_short: tuple[float, ...]
    ev: tuple[float, ...]
    ev_soc: tuple[float, ...]
    ev_short: float
    end_short: float  # kWh the battery ends below its end-of-horizon target
    loads: dict[str, tuple[float, ...]]
    skipped: dict[str, float]
    slot0_external_kwh: float  # energy pinned outside the balance by a Slot0Fix
    variables: int
    constraints: int
    build_s: float
    solve_s: float


@dataclass
class _Vars:
    """The pulp variables of one model, per slot."""

    imp: list[pulp.LpVariable]
    exp: list[pulp.LpVariable]
    pv: list[pulp.LpVariable]
    excess: list[pulp.LpVariable]
    ch: list[pulp.LpVariable] = field(default_factory=list)
    dis: list[pulp.LpVariable] = field(default_factory=list)
    soc: list[pulp.LpVariable] = field(default_factory=list)
    short: list[pulp.LpVariable] = field(default_factory=list)
    ev: list[pulp.LpVariable] = field(default_factory=list)
    ev_soc: list[pulp.LpVariable] = field(default_factory=list)
    ev_short: pulp.LpVariable | None = None
    end_short: pulp.LpVariable | None = None
    loads: dict[str, list[pulp.LpAffineExpression]] = field(default_factory=dict)
    skipped: dict[str, pulp.LpAffineExpression] = field(default_factory=dict)


class _Builder:
    """Builds one model; each method adds one device's variables, limits and costs."""

    def __init__(self, problem: Problem, fixes: Sequence[Slot0Fix]) -> None:
        self.p = problem
        self.fixes = {fix.asset: fix for fix in fixes}
        self.lp = pulp.LpProblem("home", pulp.LpMinimize)
        self.terms: list[pulp.LpAffineExpression] = []
        self.demand: list[list[Expr]] = [[] for _ in range(problem.slots)]
        self.supply: list[list[Expr]] = [[] for _ in range(problem.slots)]
        self.external_kwh = 0.0
        n = range(problem.slots)
        f = problem.forecasts
        self.v = _Vars(
            imp=[self.lp.add_variable(f"imp_{t}", 0) for t in n],
            exp=[self.lp.add_variable(f"exp_{t}", 0, problem.export_kw(t)) for t in n],
            pv=[self.lp.add_variable(f"pv_{t}", 0, f.pv_w[t] / 1000) for t in n],
            excess=[self.lp.add_variable(f"excess_{t}", 0) for t in n],
        )

    def build(self) -> tuple[pulp.LpProblem, _Vars, pulp.LpAffineExpression]:
        self._battery()
        self._ev()
        for load in self.p.loads:
            self._load(load)
        cost = self._grid()
        self._profile(cost)
        self.lp += pulp.lpSum(self.terms)
        return self.lp, self.v, cost

    def _fix(self, asset: str, var: pulp.LpVariable | pulp.LpAffineExpression, most: float) -> bool:
        """Apply a Slot0Fix to `var` (slot 0); True when its energy is taken out of the balance."""
        fix = self.fixes.get(asset)
        if fix is None:
            return False
        target = fix.kw if fix.kw is not None else (most if fix.run else 0.0)
        self.lp += (var == target), f"fix_{asset.replace(':', '_')}"
        if fix.run and fix.external:
            self.external_kwh = target * DT
            return True
        return False

    def _grid(self) -> pulp.LpAffineExpression:
        v, f, lp = self.v, self.p.forecasts, self.lp
        for t in range(self.p.slots):
            base = f.base_load_w[t] / 1000
            supply = pulp.lpSum([v.pv[t], v.imp[t], *self.supply[t]])
            lp += supply == pulp.lpSum([*self.demand[t], v.exp[t]]) + base, f"balance_{t}"
            lp += v.imp[t] <= self.p.import_kw(t) + v.excess[t], f"limit_{t}"
        cost = pulp.lpSum(
            DT * (f.buy_price[t] * v.imp[t] - f.sell_price[t] * v.exp[t])
            for t in range(self.p.slots)
        )
        self.terms.append(cost)
        self.terms.append(TIE_BREAK * DT * pulp.lpSum(v.imp + v.exp))
        self.terms.append(GRID_EXCESS_PENALTY * DT * pulp.lpSum(v.excess))
        return cost

    def _battery(self) -> None:
        b = self.p.battery
        if b is None:
            return
        v, lp, n = self.v, self.lp, range(self.p.slots)
        cap, soc0 = b.capacity_wh / 1000, b.soc_wh / 1000
        v.ch = [self.lp.add_variable(f"ch_{t}", 0, b.max_charge_w / 1000) for t in n]
        v.dis = [self.lp.add_variable(f"dis_{t}", 0, b.max_discharge_w / 1000) for t in n]
        v.soc = [self.lp.add_variable(f"soc_{t}", 0, cap) for t in n]
        v.short = [self.lp.add_variable(f"short_{t}", 0, b.reserve_wh / 1000) for t in n]
        eta_c, eta_d = b.charge_efficiency, b.discharge_efficiency
        for t in n:
            before = v.soc[t - 1] if t else soc0
            lp += v.soc[t] == before + DT * (eta_c * v.ch[t] - v.dis[t] / eta_d), f"soc_{t}"
            lp += v.soc[t] + v.short[t] >= b.reserve_wh / 1000, f"reserve_{t}"
        most_in = min(b.max_charge_w / 1000, (cap - soc0) / (eta_c * DT))
        most_out = min(b.max_discharge_w / 1000, soc0 * eta_d / DT)
        ch_external = self._fix("battery_charge", v.ch[0], most_in)
        dis_external = self._fix("battery_discharge", v.dis[0], most_out)
        self._fix("battery", v.ch[0] - v.dis[0], 0.0)
        # The battery's what-ifs are measured from an idle battery: running one direction now
        # forbids the other in the same slot (else an LP "discharges now" and charges the same
        # energy back at once, a wash its net dispatch can never carry out), and "not now" is
        # idle, not the other direction. Charging and discharging then each price the step
        # from 0 to their most, as the bid's steps for the battery's net energy mean.
        for name, other in (("battery_charge", v.dis[0]), ("battery_discharge", v.ch[0])):
            if name in self.fixes:
                lp += other == 0, f"fix_{name}_alone"
        for t in n:
            if not (t == 0 and ch_external):
                self.demand[t].append(v.ch[t])
            if not (t == 0 and dis_external):
                self.supply[t].append(v.dis[t])
        # Half the cycle's wear on each direction, so neither is free.
        self.terms.append(b.degradation_cost / 2 * DT * pulp.lpSum(v.ch + v.dis))
        self.terms.append(RESERVE_PENALTY * DT * pulp.lpSum(v.short))
        self._end()

    def _end(self) -> None:
        """The owner's end-of-horizon rule (horizon_end.py): energy left at the end is worth
        what it would save later, else the plan would empty the battery at the horizon; a final
        target is soft, with a shortfall dearer than any kWh the horizon could buy."""
        end, v = self.p.end, self.v
        if end is None:
            return
        self.terms.append(-end.value_per_kwh * v.soc[-1])
        if end.target_kwh is not None:
            v.end_short = self.lp.add_variable("end_short", 0, end.target_kwh)
            self.lp += v.soc[-1] + v.end_short >= end.target_kwh, "end_target"
            self.terms.append(end.penalty_per_kwh * v.end_short)

    def _ev(self) -> None:
        ev = self.p.ev
        if ev is None:
            return
        v, lp = self.v, self.lp
        for t in range(self.p.slots):
            plugged = ev.first <= t < ev.deadline
            v.ev.append(self.lp.add_variable(f"ev_{t}", 0, ev.max_kw if plugged else 0))
            v.ev_soc.append(self.lp.add_variable(f"evsoc_{t}", 0, ev.capacity_kwh))
            before = v.ev_soc[t - 1] if t else ev.soc_kwh
            lp += v.ev_soc[t] == before + DT * ev.efficiency * v.ev[t], f"evsoc_{t}"
            if ev.min_kw > 0 and plugged:
                on = self.lp.add_variable(f"evon_{t}", cat="Binary")
                lp += v.ev[t] >= ev.min_kw * on, f"evmin_{t}"
                lp += v.ev[t] <= ev.max_kw * on, f"evmax_{t}"
        most = min(ev.max_kw, (ev.capacity_kwh - ev.soc_kwh) / (ev.efficiency * DT))
        most = most if ev.first == 0 < ev.deadline else 0.0
        external = self._fix("ev", v.ev[0], most)
        for t in range(self.p.slots):
            if not (t == 0 and external):
                self.demand[t].append(v.ev[t])
        v.ev_short = self.lp.add_variable("ev_short", 0)
        at = min(max(ev.deadline, 1), self.p.slots) - 1
        lp += v.ev_soc[at] + v.ev_short >= ev.required_kwh, "ev_target"
        self.terms.append(EV_SHORTFALL_PENALTY * v.ev_short)

    def _load(self, load: LoadSpec) -> None:
        if load.interruptible:
            power, skipped = self._interruptible(load)
        else:
            power, skipped = self._non_interruptible(load)
        asset = f"load:{load.id}"
        external = self._fix(asset, power[0], _load_most_now(load))
        for t in range(self.p.slots):
            if not (t == 0 and external):
                self.demand[t].append(power[t])
        self.v.loads[load.id] = power
        self.v.skipped[load.id] = skipped
        self.terms.append(load.skip_cost * skipped)

    def _interruptible(
        self, load: LoadSpec
    ) -> tuple[list[pulp.LpAffineExpression], pulp.LpAffineExpression]:
        n = self.p.slots
        x = [
            self.lp.add_variable(f"{load.id}_{t}", 0, load.kw if load.first <= t < load.end else 0)
            for t in range(n)
        ]
        skip = self.lp.add_variable(f"{load.id}_skip", 0, 1 if load.optional else 0)
        self.lp += DT * pulp.lpSum(x) == load.energy_kwh * (1 - skip), f"{load.id}_energy"
        # Delay of the energy-weighted centre, hours past the earliest start.
        delay = pulp.lpSum(x[t] * DT / load.energy_kwh * (t - load.first) * DT for t in range(n))
        self.terms.append(load.discomfort_per_hour * delay)
        return [1 * v for v in x], 1 * skip

    def _non_interruptible(
        self, load: LoadSpec
    ) -> tuple[list[pulp.LpAffineExpression], pulp.LpAffineExpression]:
        starts = range(load.first, max(load.end - load.run_slots, load.first) + 1)
        s = {k: self.lp.add_variable(f"{load.id}_start_{k}", cat="Binary") for k in starts}
        if load.running:
            self.lp += s[load.first] == 1, f"{load.id}_running"
        chosen = pulp.lpSum(s.values())
        if load.optional:
            self.lp += chosen <= 1, f"{load.id}_once"
        else:
            self.lp += chosen == 1, f"{load.id}_once"
        kw = load.energy_kwh / (load.run_slots * DT)
        power = [
            kw * pulp.lpSum(s[k] for k in starts if k <= t < k + load.run_slots)
            for t in range(self.p.slots)
        ]
        self.terms.append(
            load.discomfort_per_hour * pulp.lpSum((k - load.first) * DT * s[k] for k in starts)
        )
        return power, 1 - chosen

    def _profile(self, cost: pulp.LpAffineExpression) -> None:
        strategy, f, v = self.p.strategy, self.p.forecasts, self.v
        if strategy.profile == Profile.MIN_CARBON and f.carbon_g_per_kwh is not None:
            per_g = strategy.carbon_price_per_kg / 1000
            carbon = pulp.lpSum(DT * f.carbon_g_per_kwh[t] * v.imp[t] for t in range(self.p.slots))
            self.terms.append(per_g * carbon)
        if strategy.profile == Profile.STABLE_BILL:
            budget = strategy.monthly_budget * self.p.horizon_hours / HOURS_PER_MONTH
            over = self.lp.add_variable("over_budget", 0)
            under = self.lp.add_variable("under_budget", 0)
            self.lp += cost - budget == over - under, "budget"
            self.terms.append(strategy.over_budget_weight * over)
            self.terms.append(strategy.under_budget_weight * under)


def _load_most_now(load: LoadSpec) -> float:
    """The power a load would draw in slot 0 if started now (0 if its window is not open)."""
    if load.first > 0:
        return 0.0
    if load.interruptible:
        return min(load.kw, load.energy_kwh / DT)
    return load.energy_kwh / (load.run_slots * DT)


def solve(problem: Problem, fixes: Sequence[Slot0Fix] = ()) -> Solution:
    """Build and solve the home's model; `fixes` pin first-slot actions for what-if solves."""
    started = time.perf_counter()
    builder = _Builder(problem, fixes)
    lp, v, cost = builder.build()
    built = time.perf_counter()
    stats = lp.solve(highs())
    solved = time.perf_counter()
    if not stats.has_solution:
        # Every limit that can be impossible is soft, so this means a solver failure.
        raise RuntimeError(f"planner model not solved: {stats.status_str}")
    return Solution(
        objective=_value(lp.objective),
        cost=_value(cost),
        grid_import=_values(v.imp),
        grid_export=_values(v.exp),
        pv_used=_values(v.pv),
        grid_excess=_values(v.excess),
        charge=_values(v.ch),
        discharge=_values(v.dis),
        soc=_values(v.soc),
        reserve_short=_values(v.short),
        ev=_values(v.ev),
        ev_soc=_values(v.ev_soc),
        ev_short=_value(v.ev_short) if v.ev_short is not None else 0.0,
        end_short=_value(v.end_short) if v.end_short is not None else 0.0,
        loads={k: _values(power) for k, power in v.loads.items()},
        skipped={k: _value(expr) for k, expr in v.skipped.items()},
        slot0_external_kwh=builder.external_kwh,
        variables=lp.numVariables(),
        constraints=lp.numConstraints(),
        build_s=built - started,
        solve_s=solved - built,
    )


def _value(expr: pulp.LpAffineExpression | pulp.LpVariable | None) -> float:
    value = pulp.value(expr)
    return float(value) if value is not None else 0.0


def _values(items: Sequence[pulp.LpAffineExpression | pulp.LpVariable]) -> tuple[float, ...]:
    return tuple(_value(item) for item in items)
