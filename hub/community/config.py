"""community.toml: the community's members, plants and allocation method.

A separate file (not the hub's hub.toml) so a community can be configured and its DSO data
checked without a running hub; its one table is `[community]`, so it could later move into
hub.toml unchanged. Paths in it are relative to the file. Format in docs/community.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.community.model import (
    Community,
    CommunityError,
    Member,
    Method,
    Plant,
    PlantKind,
    StaticLeftover,
)
from hub.community.statements import FeePeriod, Prices

DSO_STORE = "dso-values.csv"


@dataclass(frozen=True, slots=True)
class CommunityFile:
    community: Community
    data_dir: Path  # where imported DSO values are kept
    prices: Prices | None = None  # [community.prices], needed for statements

    @property
    def dso_store(self) -> Path:
        return self.data_dir / DSO_STORE


def load_community(path: Path) -> CommunityFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommunityError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as err:
        raise CommunityError(f"{path}: not valid TOML: {err}") from None
    section = data.get("community")
    if not isinstance(section, dict):
        raise CommunityError(f"{path}: no [community] table")
    community = parse_community(section)
    data_dir = Path(_text(section, "data_dir", "community", "community-data"))
    prices = section.get("prices")
    return CommunityFile(
        community,
        data_dir if data_dir.is_absolute() else path.parent / data_dir,
        None if prices is None else parse_prices(prices),
    )


def parse_prices(table: object) -> Prices:
    where = "community.prices"
    if not isinstance(table, dict):
        raise CommunityError(f"{where}: expected a [community.prices] table")
    fee = table.get("organiser_fee", 0)
    if isinstance(fee, bool) or not isinstance(fee, int):
        raise CommunityError(f"{where}.organiser_fee: an integer number of minor units")
    if "community_price" not in table:
        raise CommunityError(f"{where}.community_price: required (minor units per kWh)")
    periods = []
    for index, period in enumerate(_tables(table, "grid_fees", where)):
        at = f"{where}.grid_fees[{index}]"
        periods.append(
            FeePeriod(
                _date(period.get("from"), f"{at}.from"),
                parse_share(period.get("per_kwh"), f"{at}.per_kwh"),
            )
        )
    return Prices(
        community_price=parse_share(table["community_price"], f"{where}.community_price"),
        grid_fees=tuple(periods),
        organiser_fee=fee,
        currency=_text(table, "currency", where, "EUR"),
    )


def parse_community(section: Mapping[str, Any]) -> Community:
    where = "community"
    timezone = _text(section, "timezone", where, "Europe/Vienna")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommunityError(f"community.timezone: unknown time zone {timezone!r}") from None
    return Community(
        name=_text(section, "name", where, "community"),
        method=_choice(section, "method", where, Method, Method.STATIC),
        static_leftover=_choice(
            section, "static_leftover", where, StaticLeftover, StaticLeftover.GRID
        ),
        timezone=timezone,
        members=tuple(_member(m, i) for i, m in enumerate(_tables(section, "members"))),
        plants=tuple(_plant(p, i) for i, p in enumerate(_tables(section, "plants"))),
    )


def parse_share(value: object, where: str) -> Fraction:
    """An exact share from "1/3", "0.25", 0.25 (read as its decimal text) or an integer."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CommunityError(f'{where}: a number like 2.5 or a fraction like "1/3" is required')
    try:
        return Fraction(repr(value) if isinstance(value, float) else value)
    except (ValueError, ZeroDivisionError):
        raise CommunityError(f'{where}: {value!r} is not a share like 0.25 or "1/3"') from None


def _member(table: Mapping[str, Any], index: int) -> Member:
    where = f"community.members[{index}]"
    member_id = _text(table, "id", where)
    where = f"community.members[{member_id}]"
    left = table.get("left")
    return Member(
        member_id=member_id,
        metering_point=_text(table, "metering_point", where),
        joined=_date(table.get("joined"), f"{where}.joined"),
        left=None if left is None else _date(left, f"{where}.left"),
        share=parse_share(table.get("share", 1), f"{where}.share"),
        injection_point=_optional_text(table, "injection_point", where),
        hub_meter=_optional_text(table, "hub_meter", where),
    )


def _plant(table: Mapping[str, Any], index: int) -> Plant:
    where = f"community.plants[{index}]"
    plant_id = _text(table, "id", where)
    where = f"community.plants[{plant_id}]"
    owners = table.get("owners", {})
    if not isinstance(owners, dict):
        raise CommunityError(f'{where}.owners: a table like {{ m01 = "1/2", m02 = "1/2" }}')
    return Plant(
        plant_id=plant_id,
        kind=_choice(table, "kind", where, PlantKind, PlantKind.PV),
        metering_point=_text(table, "metering_point", where),
        owners={
            str(owner): parse_share(share, f"{where}.owners.{owner}")
            for owner, share in owners.items()
        },
        hub_meter=_optional_text(table, "hub_meter", where),
    )


def _tables(
    section: Mapping[str, Any], key: str, where: str = "community"
) -> list[Mapping[str, Any]]:
    tables = section.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CommunityError(f"{where}.{key}: expected [[{where}.{key}]] tables")
    return tables


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise CommunityError(f"{where}.{key}: a non-empty text is required")
    return value.strip()


def _optional_text(table: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if table.get(key) is None else _text(table, key, where)


def _choice[E: (Method, StaticLeftover, PlantKind)](
    table: Mapping[str, Any], key: str, where: str, kind: type[E], default: E
) -> E:
    value = table.get(key, default.value)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise CommunityError(f"{where}.{key}: {value!r} is not one of {allowed}") from None


def _date(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CommunityError(f"{where}: a date like 2028-02-01 is required")
