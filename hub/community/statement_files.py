"""A month's statements as CSV (minor units) and as a printable HTML page."""

from __future__ import annotations

import csv
import html
import io
from decimal import Decimal

from hub.community.statements import CommunityStatement, MemberStatement, Prices

COLUMNS = [
    "member_id",
    "consumption_wh",
    "received_wh",
    "grid_wh",
    "injection_wh",
    "given_wh",
    "plant_wh",
    "energy_cost_minor",
    "grid_fees_minor",
    "organiser_fee_minor",
    "energy_income_minor",
    "plant_income_minor",
    "net_minor",
]


def statement_csv(statement: CommunityStatement) -> str:
    """One row per member, then the counterparties: community account, DSO, organiser."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in statement.members:
        writer.writerow(_row(line))
    blank = [""] * 6
    writer.writerow(
        [
            "(community account)",
            *blank,
            "",
            "",
            "",
            "",
            statement.community_account,
            statement.community_account,
        ]
    )
    writer.writerow(
        ["(dso: grid fees)", *blank, "", statement.dso_fees, "", "", "", statement.dso_fees]
    )
    writer.writerow(
        ["(organiser)", *blank, "", "", statement.organiser_fees, "", "", statement.organiser_fees]
    )
    return out.getvalue()


def _row(line: MemberStatement) -> list[str | int]:
    plants = " ".join(f"{plant}={wh}" for plant, wh in sorted(line.plant_wh.items()))
    return [
        line.member_id,
        line.consumption_wh,
        line.received_wh,
        line.grid_wh,
        line.injection_wh,
        line.given_wh,
        plants,
        line.energy_cost,
        line.grid_fees,
        line.organiser_fee,
        line.energy_income,
        line.plant_income,
        line.net,
    ]


def statement_html(statement: CommunityStatement, prices: Prices, title: str) -> str:
    """A page per member (print with page breaks), amounts in major units (minor / 100)."""
    pages = [_member_page(line, prices, title) for line in statement.members]
    style = (
        "body{font-family:sans-serif;max-width:40em;margin:auto}"
        "section{page-break-after:always;margin-bottom:3em}"
        "td{padding:.2em .8em}td.n{text-align:right}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(pages)}</body></html>\n"
    )


def _member_page(line: MemberStatement, prices: Prices, title: str) -> str:
    def money(minor: int) -> str:
        return f"{Decimal(minor).scaleb(-2)} {html.escape(prices.currency)}"

    rows = [
        ("Consumption", f"{line.consumption_wh / 1000:.3f} kWh"),
        ("Received from the community", f"{line.received_wh / 1000:.3f} kWh"),
        ("Received from the grid (your supplier)", f"{line.grid_wh / 1000:.3f} kWh"),
        ("Given to the community", f"{line.given_wh / 1000:.3f} kWh"),
        ("Community energy", money(-line.energy_cost)),
        ("Grid fees and levies on shared energy", money(-line.grid_fees)),
        ("Organiser's fee", money(-line.organiser_fee)),
        ("Your surplus used by the community", money(line.energy_income)),
        ("Your share of co-owned plants' income", money(line.plant_income)),
        ("Net", money(line.net)),
    ]
    cells = "".join(
        f"<tr><td>{html.escape(label)}</td><td class='n'>{value}</td></tr>" for label, value in rows
    )
    return (
        f"<section><h1>{html.escape(title)}</h1><h2>Member {html.escape(line.member_id)}</h2>"
        f"<table>{cells}</table></section>"
    )
