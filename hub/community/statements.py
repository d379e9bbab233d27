"""Monthly statements per member that balance to the cent across the community.

Pure. Energy comes from the quarter-hour allocations (`hub.community.allocation`); prices are
exact decimals in minor units (cents) per kWh, so an exact amount is price x Wh / 1000 minor
units. Money flows, each between members and a counterparty:

- community energy: a member pays `community_price` for every kWh received from the community;
  the members whose surplus was used, and the plants whose output was used, are paid the same.
  A co-owned plant's income goes to its owners by share, a community-owned plant's to the
  community's own account;
- grid fees and levies on shared energy: per kWh received, at the rate of the period the
  quarter-hour's local date falls in; paid by the member, collected for the DSO;
- the organiser's fee: a fixed amount per member taking part in the month.

Cents: each line's exact amounts are rounded together with one rule (`round_exact`): floors,
then the cents left to the floor of the exact total go to the largest fractional parts, ties by
member id. Payers and payees of community energy have the same exact total, so both sides round
to the same number of cents: the statements balance to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from hub.community.allocation import QuarterHourAllocation, QuarterHourInput, round_exact
from hub.community.model import Community, CommunityError

COMMUNITY_ACCOUNT = "community"  # receives a community-owned plant's income


@dataclass(frozen=True, slots=True)
class FeePeriod:
    start: date  # local date from which the rate applies
    per_kwh: Fraction  # minor units per kWh


@dataclass(frozen=True, slots=True)
class Prices:
    community_price: Fraction  # minor units per kWh
    grid_fees: tuple[FeePeriod, ...] = ()
    organiser_fee: int = 0  # minor units per member and month
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if self.community_price < 0 or self.organiser_fee < 0:
            raise CommunityError("community.prices: prices and fees must not be negative")
        starts = [p.start for p in self.grid_fees]
        if starts != sorted(set(starts)) or any(p.per_kwh < 0 for p in self.grid_fees):
            raise CommunityError(
                "community.prices.grid_fees: periods need distinct increasing `from` dates and "
                "rates that are not negative"
            )

    def fee_rate(self, day: date) -> Fraction:
        rate = Fraction(0)
        for period in self.grid_fees:
            if period.start <= day:
                rate = period.per_kwh
        return rate


@dataclass(slots=True)
class MemberStatement:
    member_id: str
    consumption_wh: int = 0
    received_wh: int = 0  # from the community
    grid_wh: int = 0  # consumption - received: from the member's supplier
    injection_wh: int = 0
    given_wh: int = 0  # of the injection, what members used
    plant_wh: dict[str, int] = field(default_factory=dict)  # owned share of plant output used
    energy_cost: int = 0  # minor units paid for community energy
    energy_income: int = 0  # minor units for its surplus the community used
    plant_income: int = 0  # minor units from co-owned plants
    grid_fees: int = 0  # minor units of grid fees and levies on shared energy
    organiser_fee: int = 0

    @property
    def net(self) -> int:
        """What the member receives (positive) or pays (negative), in minor units."""
        return (
            self.energy_income
            + self.plant_income
            - self.energy_cost
            - self.grid_fees
            - self.organiser_fee
        )


@dataclass(frozen=True, slots=True)
class CommunityStatement:
    members: tuple[MemberStatement, ...]
    community_account: int  # income of community-owned plants, minor units
    dso_fees: int  # grid fees and levies collected on shared energy
    organiser_fees: int

    def balance_problems(self) -> list[str]:
        """Empty when the cents balance: paid for community energy == paid out for it, and each
        counterparty's total is the sum of the members' lines."""
        paid = sum(m.energy_cost for m in self.members)
        paid_out = sum(m.energy_income + m.plant_income for m in self.members)
        problems = []
        if paid != paid_out + self.community_account:
            problems.append(
                f"community energy: members paid {paid}, sellers got "
                f"{paid_out + self.community_account}"
            )
        if sum(m.grid_fees for m in self.members) != self.dso_fees:
            problems.append("grid fees do not add up")
        if sum(m.organiser_fee for m in self.members) != self.organiser_fees:
            problems.append("organiser fees do not add up")
        return problems


def monthly_statement(
    community: Community,
    prices: Prices,
    allocations: Iterable[tuple[QuarterHourInput, QuarterHourAllocation]],
) -> CommunityStatement:
    zone = ZoneInfo(community.timezone)
    lines: dict[str, MemberStatement] = {}
    received_at: dict[tuple[str, Fraction], int] = {}  # (member, fee rate) -> Wh received
    supplied: dict[str, int] = {}  # member id or "plant:<id>" -> Wh the community used
    for qh, result in allocations:
        rate = prices.fee_rate(datetime.fromtimestamp(qh.start, UTC).astimezone(zone).date())
        for member in community.active_members(qh.start):
            lines.setdefault(member.member_id, MemberStatement(member.member_id))
        _add_energy(lines, qh, result)
        for member_id, wh in result.received.items():
            received_at[(member_id, rate)] = received_at.get((member_id, rate), 0) + wh
        for member_id, wh in result.member_supplied.items():
            supplied[member_id] = supplied.get(member_id, 0) + wh
        for plant_id, wh in result.plant_supplied.items():
            supplied[f"plant:{plant_id}"] = supplied.get(f"plant:{plant_id}", 0) + wh
    active = set(lines)  # members taking part in at least one quarter-hour
    return _in_cents(community, prices, lines, received_at, supplied, active)


def _add_energy(
    lines: dict[str, MemberStatement], qh: QuarterHourInput, result: QuarterHourAllocation
) -> None:
    for member_id, line in lines.items():
        received = result.received.get(member_id, 0)
        line.consumption_wh += qh.consumption.get(member_id, 0)
        line.received_wh += received
        line.grid_wh += qh.consumption.get(member_id, received) - received
        line.injection_wh += qh.injection.get(member_id, 0)
        line.given_wh += result.member_supplied.get(member_id, 0)


def _in_cents(
    community: Community,
    prices: Prices,
    lines: dict[str, MemberStatement],
    received_at: dict[tuple[str, Fraction], int],
    supplied: dict[str, int],
    active: set[str],
) -> CommunityStatement:
    per_wh = prices.community_price / 1000  # minor units per Wh
    cost: dict[str, Fraction] = {}
    fees: dict[str, Fraction] = {}
    for (member_id, rate), wh in received_at.items():
        cost[member_id] = cost.get(member_id, Fraction(0)) + wh * per_wh
        fees[member_id] = fees.get(member_id, Fraction(0)) + wh * rate / 1000
    # Payees: "member:<id>" for a member's surplus, "plant:<plant>:<owner>" for plant income.
    income = {f"member:{m}": wh * per_wh for m, wh in supplied.items() if ":" not in m}
    for plant in community.plants:
        used = supplied.get(f"plant:{plant.plant_id}", 0)
        for owner, share in (plant.owners or {COMMUNITY_ACCOUNT: Fraction(1)}).items():
            income[f"plant:{plant.plant_id}:{owner}"] = used * share * per_wh
    cost_cents, fee_cents = round_exact(cost), round_exact(fees)
    income_cents = round_exact(income)
    community_account = 0
    for key, cents in income_cents.items():
        kind, _, rest = key.partition(":")
        owner = rest.rpartition(":")[2] if kind == "plant" else rest
        if owner == COMMUNITY_ACCOUNT and kind == "plant":
            community_account += cents
            continue
        line = lines.setdefault(owner, MemberStatement(owner))
        if kind == "plant":
            line.plant_income += cents
        else:
            line.energy_income += cents
    for plant in community.plants:
        used = supplied.get(f"plant:{plant.plant_id}", 0)
        for owner, wh in round_exact({o: used * s for o, s in plant.owners.items()}).items():
            lines.setdefault(owner, MemberStatement(owner)).plant_wh[plant.plant_id] = wh
    for member_id in active:
        lines[member_id].organiser_fee = prices.organiser_fee
    for member_id, line in lines.items():
        line.energy_cost = cost_cents.get(member_id, 0)
        line.grid_fees = fee_cents.get(member_id, 0)
    return CommunityStatement(
        members=tuple(sorted(lines.values(), key=lambda m: m.member_id)),
        community_account=community_account,
        dso_fees=sum(fee_cents.values()),
        organiser_fees=prices.organiser_fee * len(active),
    )
