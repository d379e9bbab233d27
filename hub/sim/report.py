"""The Markdown report and its three plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from hub.sim.config import SLOTS_PER_DAY
from hub.sim.engine import SimResult
from hub.sim.metrics import PARTS as METRIC_PARTS
from hub.sim.metrics import WARM_UP_DAYS, Metrics, compute

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
    # Slot 0 is local midnight of the first day, so these are local hours (as of that day).
    bottom.set_title(f"Mean day ({result.config.timezone})")
    bottom.set_xlabel("hour of day, local time")
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
        f"| the same from day {WARM_UP_DAYS + 1} on, kW | "
        + " | ".join(f"{_peak(result, m.warm_peak_slot[w], w):.1f}" for w in "ABC")
        + " |",
        "| median of the daily peaks, kW | "
        + " | ".join(f"{m.daily_peak_median_kw[w]:.1f}" for w in "ABC")
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
        *_reading(result, m, times_local(result)),
        "## Run time",
        "",
        *_run_time(result),
        "",
        "## Assumptions",
        "",
        *ASSUMPTIONS,
        "",
    ]
    return "\n".join(lines)


def times_local(result: SimResult) -> list[str]:
    zone = ZoneInfo(result.config.timezone)
    return [
        result.calendar.time_of(s).astimezone(zone).strftime("%a %d %b %H:%M")
        for s in range(result.calendar.slots)
    ]


def _reading(result: SimResult, m: Metrics, when: list[str]) -> list[str]:
    """What the headline numbers come from: bills by equipment, and the transformer peaks."""
    lines = [
        "## Reading the results",
        "",
        "Bills by equipment (EUR over the period; what each group pays, negative = earns):",
        "",
        "| homes with | homes | A | B | C | B - A | C - A |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, group in m.groups.items():
        bill = group.bills
        lines.append(
            f"| {name} | {group.homes} | {_eur(bill['A'])} | {_eur(bill['B'])} | "
            f"{_eur(bill['C'])} | {_eur(bill['B'] - bill['A'])} | {_eur(bill['C'] - bill['A'])} |"
        )
    lines += [
        "",
        "What the neighbourhood drew at each world's transformer peak (kW; the homes' meters "
        "add up to the transformer flow):",
        "",
        "| world | when | net import | " + " | ".join(PARTS) + " |",
        "|---|---|---|" + "---|" * len(PARTS),
    ]
    for w in "ABC":
        peaks = [(m.peak_slot[w], m.peak_parts_kw[w])]
        if m.warm_peak_slot[w] != m.peak_slot[w]:
            peaks.append((m.warm_peak_slot[w], m.warm_peak_parts_kw[w]))
        for slot, parts in peaks:
            lines.append(
                f"| {NAMES[w]} | {when[slot]} | {_peak(result, slot, w):.1f} | "
                + " | ".join(f"{parts[p]:.1f}" for p in PARTS)
                + " |"
            )
    lines += ["", *_explanations(result, m, when), ""]
    return lines


def _explanations(result: SimResult, m: Metrics, when: list[str]) -> list[str]:
    c = result.config
    tariff = c.hub.tariff
    flat = len(tariff.periods) == 1
    prices = tariff.prices_at(result.calendar.start_of(0))
    groups = m.groups
    worst = max(groups, key=lambda name: groups[name].bills["B"] - groups[name].bills["A"])
    worst_extra = groups[worst].bills["B"] - groups[worst].bills["A"]
    lines = [
        f"- **C against A** comes from the local price. A home that buys locally pays the "
        f"clearing price instead of retail ({prices.retail_price} c/kWh), one that sells earns "
        f"it instead of feed-in ({prices.feed_in_price} c/kWh); with k = {c.hub.k_percent} % "
        "the price settles between the two. What the homes save is the spread the grid kept "
        f"in A. Local trades here pay a fee of {c.hub.fee_per_kwh} minor units per kWh and no "
        "network charges, levies or taxes; where those apply to local trades (they make up much "
        "of a retail price), C's savings are an upper bound of what a market passes on.",
    ]
    if flat and worst_extra > 0:
        lines.append(
            "- **B against A**: under a flat tariff a kWh costs the same at every hour, so a "
            "planner has nothing to shift for; its one lever is using PV at home, and A's "
            "battery already does that greedily (charge any surplus, cover any deficit). A "
            "simulated B home follows a plan made once a day on forecasts (the integration "
            "re-plans every interval): when the PV falls short of the forecast or comes at other "
            "hours, its battery ends the day less full than A's and the home buys in the "
            f"evening. Homes with {worst} pay EUR {_eur(worst_extra)} more in B than in A over "
            "the period, together; the rest pay about the same (the table above). With a "
            "time-of-use tariff (`--config`) a planner has prices to work with."
        )
    peak_change = _pct(m.peak_kw["C"], m.peak_kw["A"])
    lines.append(
        f"- **Transformer peaks** (C {peak_change} against A over the whole period) come from "
        "what runs at the same time (the table above). Nothing here sees the transformer: "
        + ("the tariff is flat and " if flat else "")
        + "the local price is the same for every home, so loads that follow prices move "
        "together, into the same cheap intervals, or all at once when their deadline comes. "
        "Keeping a peak down needs the feeder's limits (`--feeder`: the market then clears "
        "within them) or a price for peaks; without a feeder the simulation measures peaks, "
        "it does not limit them."
    )
    if m.peak_slot["C"] < WARM_UP_DAYS * SLOTS_PER_DAY <= result.calendar.slots // 2:
        lines.append(
            f"- C's highest peak ({when[m.peak_slot['C']]}) is a cold start. On the first day "
            "a home has no clearing prices to go by and expects the midpoint of retail and "
            "feed-in at every hour; at night only the grid sells, at retail, so the bids of "
            "its dishwasher and EV do not clear and both run when their deadline comes, in "
            "every home at about the same time. From the third day on C's peak is "
            f"{_peak(result, m.warm_peak_slot['C'], 'C'):.1f} kW (A: "
            f"{_peak(result, m.warm_peak_slot['A'], 'A'):.1f} kW), and on a typical day "
            f"{m.daily_peak_median_kw['C']:.0f} kW against A's "
            f"{m.daily_peak_median_kw['A']:.0f} kW (median of the daily peaks)."
        )
    if m.peak_kw["B"] > m.peak_kw["A"] and flat:
        slot = m.peak_slot["B"]

        def kw(world: str, flow: str) -> float:
            return float(result.world(world, flow)[:, slot].sum()) * 4 / 1000

        lines.append(
            f"- B's highest peak ({when[slot]}) against A at the same time: batteries "
            f"discharging {kw('B', 'discharge_wh'):.1f} kW (A: {kw('A', 'discharge_wh'):.1f}), "
            f"EVs charging {kw('B', 'ev_wh'):.1f} kW (A: {kw('A', 'ev_wh'):.1f}). Following the "
            "day's plan, B's batteries are emptier by the evening (the cause of its bills "
            "too), and under a flat tariff the planner has no reason to prefer one hour for an "
            "EV over another, so it charges where its solution happens to put it, with no "
            "regard for what the street does."
        )
    return lines


def _peak(result: SimResult, slot: int, world: str) -> float:
    flows = result.world(world, "import_wh")[:, slot] - result.world(world, "export_wh")[:, slot]
    return float(flows.sum()) * 4 / 1000


def _run_time(result: SimResult) -> list[str]:
    t, c, slots = result.timings, result.config, result.calendar.slots

    def ms(seconds: float) -> str:
        return f"{1000 * seconds / slots:.1f}"

    hub = sum(t[part] for part in ("bids", "clearing", "seal", "readings", "retirements"))
    return [
        f"{t['total']:.0f} s in all ({1000 * t['total'] / slots:.0f} ms per interval), "
        f"{result.plans:,} planner solves, {c.workers} worker processes for the homes.",
        "",
        f"- The hub's work per interval (wall time): bids {ms(t['bids'])} ms (the bid route's "
        f"checks and Store.save_bid for every home), clearing {ms(t['clearing'])} ms, sealing "
        f"the block {ms(t['seal'])} ms, reading uploads {ms(t['readings'])} ms, certificate "
        f"retirements {ms(t['retirements'])} ms; {ms(hub)} ms together. Waiting for the homes: "
        f"{ms(t['homes'])} ms (they play out each interval and bid for the next while the hub "
        "seals and takes readings).",
        f"- CPU time per interval: hub process {ms(t['hub_cpu'])} ms (event loop and database "
        f"threads) and {ms(t['checks_cpu'])} ms for its signature checks (bids and readings, "
        f"in two helper processes); homes {ms(t['homes_cpu_c'])} ms for world C in step with "
        f"the hub and {ms(t['homes_cpu_ab'])} ms for worlds A and B in the workers' idle time.",
    ]


PARTS = list(METRIC_PARTS)


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
    "heater for 40 % (2 kWh/day, interruptible, in a window each home set once: opening "
    "08:00-10:00, 7-9 h long). Half the EV owners retire green "
    "certificates for their sessions.",
    "- Planning: each home runs the real planner (gridcoop_home.planner.plan, HiGHS) once a day"
    " at its "
    "own time of day and when its EV arrives, 24 h ahead, schedule only (market_outputs=False). "
    "Appliance windows that reach past a plan's horizon are planned by the next one. The Home "
    "Assistant integration plans again every interval with fresh state; that would be two "
    "solves per home and interval (B and C) instead of about two per home and day, so between "
    "its daily plans a simulated home follows the day's plan (and, in C, bids from its current "
    "state).",
    "- Bids: from the plan, not from the planner's what-if solves: reservation prices are "
    "estimated from the plan's expected prices (hub/sim/bidding.py) and turned into curves by the "
    "planner's own build_bids, which makes them clear the plan's slot at the expected price. "
    "Expected local prices come from the planner's own rule: the mean clearing price at that "
    "time of day over the last 7 days (intervals without local trade count at retail or feed-in, "
    "whichever the neighbourhood traded with the grid). Day 1 has no history (midpoint).",
    "- Devices follow the plan (B) or the hub's dispatch (C). In B the battery tracks the "
    "plan's grid flow where that keeps energy at home: it covers a deficit the forecast missed "
    "and stores a surplus it missed, but never discharges into the grid or charges from it "
    "beyond what the plan intends. In C it tracks the home's allocation (energy bought minus "
    "sold): a commitment, whatever the home misses is settled at retail or feed-in. A does plain "
    "self-consumption. Started appliances finish; anything that would miss its deadline runs.",
    "- Hub: the real Store (SQLite file), the bid route's checks (signature, bid rules, gate "
    "open) and Store.save_bid for every bid, ClearingService (order_of, clear_uniform_price or "
    "clear_network or the continuous order book, build_records, derive_commands, save_clearing) "
    "and LedgerService (recording, settlement, tokens, certificates, flexibility awards, one "
    "sealed BLS-signed block per interval) on a simulated clock. An interval's block is sealed "
    "right after its allocations go out (the hub seals first, then announces; the block is the "
    "same). Readings: one signed reading per meter per interval (Ed25519, real meter keys), "
    "each home uploading every 6 h at its own time (the homes spread over the 6 h), checked "
    "like the upload route does and stored by Store.ingest_readings; the settlement deadline "
    "is 7 h.",
    "- Bill change in %: (bill in B or C - bill in A) / what the home's consumption would cost "
    "at retail (so that homes with a bill near zero do not dominate). Local trades pay no "
    "network charges or fees (the hub's default fee is 0).",
    "- Not modelled: reactive power and voltage unless a feeder is given, PV curtailment, "
    "V2G, seasons beyond the simulated period, holidays, tariff changes.",
]
