"""community.toml: exact shares, named settings, relative data_dir."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from hub.community.config import load_community, parse_community, parse_share
from hub.community.model import CommunityError, Method, StaticLeftover


def test_shares_are_exact() -> None:
    assert parse_share("1/3", "x") == Fraction(1, 3)
    assert parse_share(0.1, "x") == Fraction(1, 10)  # the decimal written, not the binary float
    assert parse_share(2, "x") == 2
    for bad in ("a third", True, [1], "1/0"):
        with pytest.raises(CommunityError, match="x: "):
            parse_share(bad, "x")


def test_three_times_0_33_is_not_one() -> None:
    owners = {"a": 0.33, "b": 0.33, "c": 0.34}
    members = [{"id": k, "metering_point": f"AT{k}", "joined": "2028-02-01"} for k in owners]
    plants = [{"id": "roof", "metering_point": "ATPV", "owners": owners}]
    assert parse_community({"members": members, "plants": plants}).plants[0].owners["c"] == (
        Fraction(34, 100)
    )
    plants[0]["owners"] = {"a": 0.33, "b": 0.33, "c": 0.33}
    with pytest.raises(CommunityError, match="ownership shares sum to 99/100"):
        parse_community({"members": members, "plants": plants})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "community.timezone: unknown time zone"),
        ({"static_leftover": "share"}, "community.static_leftover: 'share' is not one of"),
        ({"members": {"id": "a"}}, "community.members: expected"),
        ({"members": [{"id": "a", "joined": "2028-02-01"}]}, r"members\[a\].metering_point"),
        ({"members": [{"id": "a", "metering_point": "X"}]}, r"members\[a\].joined: a date"),
        ({"plants": [{"id": "p", "metering_point": "X", "kind": "wind"}]}, r"plants\[p\].kind"),
        ({"plants": [{"id": "p", "metering_point": "X", "owners": 1}]}, r"plants\[p\].owners"),
    ],
)
def test_bad_settings_are_named(section: dict[str, object], message: str) -> None:
    with pytest.raises(CommunityError, match=message):
        parse_community(section)


def test_defaults_and_data_dir_next_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "community.toml"
    path.write_text('[community]\nname = "Lindenhof"\n')
    loaded = load_community(path)
    assert loaded.community.method is Method.STATIC
    assert loaded.community.static_leftover is StaticLeftover.GRID
    assert loaded.dso_store == tmp_path / "community-data" / "dso-values.csv"
    path.write_text("[community\n")
    with pytest.raises(CommunityError, match="not valid TOML"):
        load_community(path)
    path.write_text("[other]\n")
    with pytest.raises(CommunityError, match=r"no \[community\] table"):
        load_community(path)


def test_prices_are_read_exactly_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "community.toml"
    path.write_text(
        "[community]\n[community.prices]\ncommunity_price = 10.5\norganiser_fee = 150\n"
        '[[community.prices.grid_fees]]\nfrom = 2028-01-01\nper_kwh = "2.5"\n'
    )
    prices = load_community(path).prices
    assert prices is not None
    assert (prices.community_price, prices.grid_fees[0].per_kwh) == (
        Fraction(21, 2),
        Fraction(5, 2),
    )
    path.write_text("[community]\n[community.prices]\norganiser_fee = 1.5\n")
    with pytest.raises(CommunityError, match=r"community.prices.organiser_fee: an integer"):
        load_community(path)
    path.write_text("[community]\n[community.prices]\norganiser_fee = 1\n")
    with pytest.raises(CommunityError, match=r"community.prices.community_price: required"):
        load_community(path)
    path.write_text(
        "[community]\n[community.prices]\ncommunity_price = 1\n"
        "[[community.prices.grid_fees]]\nfrom = 2028-02-01\nper_kwh = 1\n"
        "[[community.prices.grid_fees]]\nfrom = 2028-01-01\nper_kwh = 1\n"
    )
    with pytest.raises(CommunityError, match="distinct increasing `from` dates"):
        load_community(path)
