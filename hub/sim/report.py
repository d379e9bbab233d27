"""The Markdown report and its three plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from hub.sim.engine import SimResult
from hub.sim.metrics import Metrics, compute

COLOURS = {"A": "#888888", "B": "#1f77b4", "C": "#d62728"}
NAMES = {
    "A": "A: fixed tariff, no planning",
    "B": "B: planner alone (island)",
    "C": "C: planner + local market",
}


def write_report(result: SimResult, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    metrics = compute(result)
    times = np.array(
        [
            result.calendar.time_of(s).astimezone(ZoneInfo(result.config.timezone))
            for s in range(result.calendar.slots)
        ]
    )
    _price_plot(result, times, out / "price.png")
    _net_load_plot(result, metrics, times, out / "net_load.png")
    _savings_plot(metrics, out / "savings.png")
    path = out / "report.md"
    path.write_text(markdown(result, metrics))
    return path


def _price_plot(result: SimResult, times: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(11, 3.8), dpi=110)
    price = np.array([np.nan if r.price is None else r.price for r in result.intervals])
    ax.plot(times, [r.retail for r in result.intervals], color="black", lw=1.2, label="retail")
    ax.plot(times, [r.feed_in for r in result.intervals], color="green", lw=1.2, label="feed-in")
    ax.plot(times, price, ".", ms=2.5, color=COLOURS["C"], label="local clearing price")
    ax.set_ylabel("c/kWh")
    ax.set_title("Local price against the grid tariffs (gaps: no local trade)")
    ax.xaxis.set_major_formatter(_dates("%d %b", tz=times[0].tzinfo))
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _net_load_plot(result: SimResult, metrics: Metrics, times: np.ndarray, path: Path) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), dpi=110)
    window = slice(0, min(3 * 96, result.calendar.slots))
    for world in ("A", "B", "C"):
        kw = metrics.transformer_kw[world]
        top.plot(times[window], kw[window], color=COLOURS[world], lw=1.1, label=NAMES[world])
        days = len(kw) // 96
        profile = kw[: days * 96].reshape(days, 96).mean(axis=0)
        bottom.plot(np.arange(96) / 4, profile, color=COLOURS[world], lw=1.5, label=NAMES[world])
    top.set_title("Neighbourhood net load at the transformer, first 3 days (import > 0)")
    top.xaxis.set_major_formatter(_dates("%d %b %H:%M", tz=times[0].tzinfo))
    bottom.set_title("Mean day (UTC hours)")
    bottom.set_xlabel("hour of day (UTC)")
    for ax in (top, bottom):
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylabel("kW")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _savings_plot(metrics: Metrics, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    values = np.concatenate([metrics.change_pct["B"], metrics.change_pct["C"]])
    low, high = np.percentile(values, [1, 99])
    bins = np.linspace(min(low, -1), max(high, 1), 40)
    for world in ("B", "C"):
        clipped = np.clip(metrics.change_pct[world], bins[0], bins[-1])
        ax.hist(clipped, bins=bins.tolist(), alpha=0.6, color=COLOURS[world], label=NAMES[world])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("bill change vs A, % of the home's consumption at retail (negative = saves)")
    ax.set_ylabel("homes")
    ax.set_title("Per-home bill change (outliers clipped to the 1-99 % range)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _dates(fmt: str, tz: object) -> mdates.DateFormatter:
    return mdates.DateFormatter(fmt, tz=tz)  # type: ignore[no-untyped-call]


def _eur(minor: float) -> str:
    return f"{minor / 100:,.2f}"


def markdown(result: SimResult, m: Metrics) -> str:
    c = result.config
    homes = result.homes
    n = len(homes)
    pv = sum(h.pv_peak_w > 0 for h in homes)
    batteries = sum(h.battery is not None for h in homes)
    evs = sum(h.ev is not None for h in homes)
    t = result.timings
    slots = result.calendar.slots
    led = result.ledger
    lines = [
        "# GridCoop neighbourhood simulation",
        "",
        f"{n} homes, {c.days} days from {c.start.isoformat()} ({slots} market intervals of "
        f"15 min), seed {c.seed}, {c.mode} market"
        + (f" on feeder `{c.feeder.name}`" if c.feeder else " (no feeder limits)")
        + f", location {c.latitude:.2f} N {c.longitude:.2f} E ({c.timezone}).",
        "",
        f"Neighbourhood: {pv} homes with PV, {batteries} with a battery, {evs} with an EV; "
        f"every home has a dishwasher and a washing machine, "
        f"{sum(h.water_heater for h in homes)} an electric water heater. "
        f"Annual consumption per home {np.median([h.annual_kwh for h in homes]):,.0f} kWh "
        f"(median). PV produced {m.pv_kwh:,.0f} kWh over the period.",
        "",
        "## Results (as measured)",
        "",
        "| | A: fixed tariff | B: planner alone | C: planner + market |",
        "|---|---|---|---|",
        "| neighbourhood bill, EUR | " + " | ".join(_eur(m.bills[w].sum()) for w in "ABC") + " |",
        "| mean bill change per home vs A | - | "
        + " | ".join(f"{m.change_pct[w].mean():+.1f} %" for w in "BC")
        + " |",
        "| median bill change per home vs A | - | "
        + " | ".join(f"{np.median(m.change_pct[w]):+.1f} %" for w in "BC")
        + " |",
        "| homes that save vs A | - | "
        + " | ".join(f"{int((m.bills[w] < m.bills['A'] - 0.5).sum())} of {n}" for w in "BC")
        + " |",
        "| peak import at the transformer, kW | "
        + " | ".join(f"{m.peak_kw[w]:.1f}" for w in "ABC")
        + " |",
        "| local PV used inside the neighbourhood | "
        + " | ".join(f"{100 * m.self_consumption[w]:.1f} %" for w in "ABC")
        + " |",
        "| PV used by the home that made it | "
        + " | ".join(f"{100 * m.home_self_consumption[w]:.1f} %" for w in "ABC")
        + " |",
        "",
        f"- Bill change per home, C vs A: mean {m.change_pct['C'].mean():+.1f} %, "
        f"10th-90th percentile {np.percentile(m.change_pct['C'], 10):+.1f} % to "
        f"{np.percentile(m.change_pct['C'], 90):+.1f} %; B vs A: mean "
        f"{m.change_pct['B'].mean():+.1f} %.",
        f"- Battery owners ({batteries}): C saves them EUR "
        f"{_eur(m.battery_saving_per_year['vs A'])} a year each against A and EUR "
        f"{_eur(m.battery_saving_per_year['vs B'])} against B (extrapolated linearly from "
        f"{c.days} days of {c.start.strftime('%B')}: seasons are not modelled).",
        f"- Peak import at the transformer: C {_pct(m.peak_kw['C'], m.peak_kw['A'])} and B "
        f"{_pct(m.peak_kw['B'], m.peak_kw['A'])} against A.",
        f"- Local trading volume: {m.local_kwh:,.0f} kWh "
        f"({100 * m.local_kwh / max(m.consumption_kwh['C'], 1):.1f} % of consumption in C).",
        f"- Ledger: {led.minted:,} utility tokens minted ({led.token_unit_wh} Wh each; "
        f"{led.green_minted:,} from PV meters, i.e. green), {led.burned:,} burned by buyers, "
        f"{led.retired:,} green certificates retired for EV charging in {led.retirements} "
        f"signed retirements, {led.flex_tokens:,} flexibility tokens for followed dispatch; "
        f"{led.settled_intervals:,} intervals settled in {led.blocks:,} blocks.",
        f"- Meter readings: {result.readings['accepted']:,} signed readings accepted, "
        f"{result.readings['rejected']} rejected, {result.readings['bad_signatures']} bad "
        f"signatures. Market money balance (paid - received - fees - grid): "
        f"{m.market_balance_mminor} milli-cent.",
        "",
        "![local price](price.png)",
        "",
        "![net load](net_load.png)",
        "",
        "![savings](savings.png)",
        "",
        "## Run time",
        "",
        f"{t['total']:.0f} s in all, {result.plans:,} planner solves. Per interval "
        f"(hub process): homes {1000 * t['homes'] / slots:.0f} ms waited for (planning, "
        f"bidding, device physics and signing in {c.workers} worker processes), bids "
        f"{1000 * t['bids'] / slots:.1f} ms, clearing {1000 * t['clearing'] / slots:.1f} ms, "
        f"ledger {1000 * (t['seal'] + t['readings'] + t['retirements']) / slots:.1f} ms "
        f"(sealing {1000 * t['seal'] / slots:.1f}, readings {1000 * t['readings'] / slots:.1f}, "
        f"retirements {1000 * t['retirements'] / slots:.1f}).",
        "",
        "## Assumptions",
        "",
        *ASSUMPTIONS,
        "",
    ]
    return "\n".join(lines)


def _pct(value: float, reference: float) -> str:
    if reference == 0:
        return "n/a"
    return f"{100 * (value - reference) / reference:+.1f} %"


ASSUMPTIONS = [
    "- Same weather, loads, appliance runs and EV trips in all three worlds; only decisions "
    "differ. Bills: A and B pay the grid tariff on net grid flow per 15 minutes; C's bill is "
    "what the ledger settled (market money plus imbalance at retail/feed-in).",
    "- Load: demandlib BDEW H0 (dynamised), scaled per home to its annual consumption less its "
    "flexible appliances (lognormal, median 3,500 kWh); measured load = profile x lognormal "
    "AR(1) noise (sd 0.35). The planner's forecast is the profile itself.",
    "- PV: pvlib Ineichen clear sky (Linke turbidity 3), Erbs split, isotropic transposition, "
    "Faiman cell temperature, PVWatts, 14 % system losses; 4-10 kWp, tilt 20-40 deg, azimuth "
    "135-225 deg. Clouds: a Beta(2.5, 1.53) clear-sky index per day with AR(1) variation within "
    "the day; the forecast knows the day's index with sd 0.12 error.",
    "- Mix: half the homes have PV, a third a battery (PV homes first; 5-15 kWh, 0.5 C, 95 % "
    "each way, 2 c/kWh wear), a tenth an EV (40-77 kWh, 7.4/11 kW; weekday arrival ~17:45, "
    "departure ~07:15, 12 kWh a day driven; target 80 %). Dishwasher (70 % of days, 1.8 kWh, "
    "19:00-07:00), washing machine (45 %, 1.5 kWh, 8-10 h window from the morning), water "
    "heater for 40 % (2 kWh/day, interruptible, 09:00-17:00). Half the EV owners retire green "
    "certificates for their sessions.",
    "- Planning: each home runs the real planner (hub.planner.plan, HiGHS) once a day at its "
    "own time of day and when its EV arrives, 24 h ahead, schedule only (market_outputs=False). "
    "Appliance windows that reach past a plan's horizon are planned by the next one.",
    "- Bids: from the plan, not from the planner's what-if solves: reservation prices are "
    "estimated from the plan's expected prices (hub/sim/bidding.py) and turned into curves by the "
    "planner's own build_bids, which makes them clear the plan's slot at the expected price. "
    "Expected local prices come from the planner's own rule: the mean clearing price at that "
    "time of day over the last 7 days (intervals without local trade count at retail or feed-in, "
    "whichever the neighbourhood traded with the grid). Day 1 has no history (midpoint).",
    "- Devices follow the plan (B) or the hub's dispatch (C); a battery tracks the planned (B) "
    "or allocated (C) grid flow, absorbing forecast errors, which is plain self-consumption "
    "in A. Started appliances finish; anything that would miss its deadline runs.",
    "- Hub: the real Store (SQLite file), ClearingService (order_of, clear_uniform_price or "
    "clear_network or the continuous order book, build_records, derive_commands, save_clearing) "
    "and LedgerService (recording, settlement, tokens, certificates, flexibility awards, one "
    "sealed BLS-signed block per interval) on a simulated clock. Readings: one signed reading "
    "per meter per interval (Ed25519, real meter keys), uploaded every 6 h, checked like the "
    "upload route does and stored by Store.ingest_readings; the settlement deadline is 7 h. "
    "Bids are signed by the home keys but written into the bids table in one transaction per "
    "interval (Store.save_bid takes one transaction per bid).",
    "- Bill change in %: (bill in B or C - bill in A) / what the home's consumption would cost "
    "at retail (so that homes with a bill near zero do not dominate). Local trades pay no "
    "network charges or fees (the hub's default fee is 0).",
    "- Not modelled: reactive power and voltage unless a feeder is given, PV curtailment, "
    "V2G, seasons beyond the simulated period, holidays, tariff changes.",
]
