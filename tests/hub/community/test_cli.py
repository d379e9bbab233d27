"""`gridcoop-hub community ...`: what an organiser types, and the errors bad input gets."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hub.cli import main
from tests.hub.community.test_reconcile import HOUR_AGO, store_with_readings

CONFIG = """
[community]
name = "Lindenhof"
method = "static"
timezone = "Europe/Vienna"

[[community.members]]
id = "m01"
metering_point = "AT001"
injection_point = "AT001-inj"
joined = 2028-02-01
share = "1/2"
{hub_meter}

[[community.members]]
id = "m02"
metering_point = "AT002"
joined = 2028-02-15
left = 2028-03-01
share = 0.5

[[community.plants]]
id = "roof"
kind = "pv"
metering_point = "AT-PV"
owners = {{ m01 = "{owner_share}", m02 = "1/2" }}
"""


def write_config(tmp_path: Path, owner_share: str = "1/2", hub_meter: str = "") -> Path:
    path = tmp_path / "community.toml"
    path.write_text(CONFIG.format(owner_share=owner_share, hub_meter=hub_meter), encoding="utf-8")
    return path


def community(config: Path, *args: str) -> int:
    return main(["community", *args, "--config", str(config)])  # the default log level


def write_csv(tmp_path: Path, lines: list[str], name: str = "dso.csv") -> Path:
    path = tmp_path / name
    path.write_text("metering_point,direction,start,wh\n" + "\n".join(lines) + "\n")
    return path


def test_members_and_plants_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert community(config, "members") == 0
    out = capsys.readouterr().out
    assert "Lindenhof: 2 members, method static" in out
    assert "m02  AT002  injection=-  joined=2028-02-15  left=2028-03-01" in out
    assert community(config, "plants") == 0
    assert "roof  pv  AT-PV  owners: m01 1/2, m02 1/2" in capsys.readouterr().out


def test_shares_not_summing_to_one_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert community(write_config(tmp_path, owner_share="0.4"), "plants") == 2
    assert "plant roof: ownership shares sum to 9/10" in capsys.readouterr().err


def test_a_bad_setting_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('method = "static"', 'method = "fair"'))
    assert community(config, "members") == 2
    assert "community.method: 'fair' is not one of static, dynamic, market" in (
        capsys.readouterr().err
    )
    assert community(tmp_path / "nowhere.toml", "members") == 2
    assert "no such file" in capsys.readouterr().err


def test_import_refuses_unknown_points_and_names_malformed_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    unknown = write_csv(tmp_path, ["AT999,consumption,2028-02-29T00:00:00Z,5"])
    assert community(config, "import-dso", str(unknown)) == 2
    assert "unknown metering point AT999" in capsys.readouterr().err
    broken = write_csv(tmp_path, ["AT001,consumption,2028-02-29T00:00:00Z,5", "AT001,oops"])
    assert community(config, "import-dso", str(broken)) == 2
    assert "dso.csv:3: expected 4 fields, found 2" in capsys.readouterr().err
    assert not (tmp_path / "community-data").exists()  # nothing stored from a refused file


def test_import_never_overwrites_and_export_covers_the_leap_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    first = write_csv(
        tmp_path,
        [
            "AT001,consumption,2028-02-29T11:00:00Z,300",
            "AT002,consumption,2028-02-29T11:00:00Z,800",
            "AT-PV,injection,2028-02-29T11:00:00Z,1000",
            "AT001-inj,injection,2028-02-29T11:00:00Z,0",
        ],
    )
    assert community(config, "import-dso", str(first)) == 0
    changed = write_csv(tmp_path, ["AT-PV,injection,2028-02-29T11:00:00Z,9999"], "again.csv")
    assert community(config, "import-dso", str(changed)) == 1
    assert "stored 1000 Wh, new file says 9999 Wh (kept the stored value)" in (
        capsys.readouterr().out
    )

    out = tmp_path / "allocation.csv"
    assert (
        community(
            config, "export-allocation", "--days", "2028-02-29", "2028-02-29", "--out", str(out)
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 96 * 2  # both members, every quarter-hour of the leap day
    noon = [r for r in rows if r["start"] == "2028-02-29T11:00:00Z"]
    # the roof's 1000 Wh by ownership: m01 500 capped at 300, m02 500; pool 200 by static keys
    assert [
        (r["member_id"], r["received_wh"], r["from_co_owned_plants_wh"], r["grid_wh"]) for r in noon
    ] == [("m01", "300", "300", "0"), ("m02", "600", "500", "200")]
    quiet = next(r for r in rows if r["start"] == "2028-02-29T03:00:00Z")
    assert (quiet["consumption_wh"], quiet["missing"]) == ("", "consumption injection")


def test_reconcile_lists_differences_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def prepare() -> str:
        store, meter = await store_with_readings(tmp_path, [1000, 1100])
        await store.close()
        return meter

    meter = asyncio.run(prepare())
    config = write_config(tmp_path, hub_meter=f'hub_meter = "{meter}"')
    config.write_text(config.read_text().replace("2028-02-01", "2025-12-01"))
    from hub.community.model import iso_utc

    dso = write_csv(tmp_path, [f"AT001,consumption,{iso_utc(HOUR_AGO)},120"])
    assert community(config, "import-dso", str(dso)) == 0
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    code = community(config, "reconcile", "--db", db, "--days", "2026-01-01", "2026-01-01")
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"{iso_utc(HOUR_AGO)}  AT001 consumption  meter {meter}  differs: DSO 120 Wh, hub 100 Wh"
        in out
    )
    assert "missing-both" in out  # quarter-hours with neither a DSO value nor readings
    assert community(config, "reconcile", "--db", db, "--month", "2025-13") == 2


def test_a_portal_export_needs_its_metering_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    portal = tmp_path / "anna.csv"
    portal.write_text("Messzeitpunkt;Verbrauch (kWh);Qualität\n29.02.2028 12:15;0,400000;L1\n")
    assert community(config, "import-dso", str(portal), "--format", "at-portal") == 2
    assert "--format at-portal needs --metering-point" in capsys.readouterr().err
    args = ("import-dso", str(portal), "--format", "at-portal", "--metering-point", "AT001")
    assert community(config, *args) == 0
    stored = (tmp_path / "community-data" / "dso-values.csv").read_text()
    assert "AT001,consumption,2028-02-29T11:00:00Z,400" in stored


PRICES = """
[community.prices]
currency = "EUR"
community_price = "10"
organiser_fee = 150

[[community.prices.grid_fees]]
from = 2028-01-01
per_kwh = 2.5
"""


def test_statements_for_a_month_balance_and_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert community(config, "statements", "--month", "2028-02") == 2
    assert "statements need a [community.prices] table" in capsys.readouterr().err
    config.write_text(config.read_text() + PRICES)
    values = write_csv(
        tmp_path,
        [
            "AT001,consumption,2028-02-29T11:00:00Z,300",
            "AT002,consumption,2028-02-29T11:00:00Z,800",
            "AT-PV,injection,2028-02-29T11:00:00Z,1000",
        ],
    )
    assert community(config, "import-dso", str(values)) == 0
    out, page = tmp_path / "statements.csv", tmp_path / "statements.html"
    args = ("statements", "--month", "2028-02", "--out", str(out), "--html", str(page))
    assert community(config, *args) == 0
    rows = {r["member_id"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    # m01 received 300 Wh, m02 600 Wh at 10 ct/kWh: 3 + 6 ct; the roof's 9 ct split 1/2 : 1/2
    assert (rows["m01"]["energy_cost_minor"], rows["m02"]["energy_cost_minor"]) == ("3", "6")
    assert (rows["m01"]["plant_income_minor"], rows["m02"]["plant_income_minor"]) == ("5", "4")
    assert rows["(organiser)"]["net_minor"] == "300"
    assert "Member m01" in page.read_text() and "Net" in page.read_text()
    capsys.readouterr()
    assert community(config, "compare", "--days", "2028-02-29", "2028-02-29") == 0
    report = capsys.readouterr().out
    assert "static+redistribute" in report
    assert "m01" in report
