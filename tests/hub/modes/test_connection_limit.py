"""Without a feeder file the hub still knows its transformer: the neighbourhood's connection limit
(`[network] connection_limit_kw`, 400 kW when unset, with a warning at start). The market clears
within it by clear_network on a one-node feeder; while the limit does not bind, the result is the
uniform-price market's.

Grid prices 30/8, no fee, k = 50, 15-minute intervals: 1 kW for an interval is 250 Wh, and the
market plans up to loading_limit (0.95) of the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from gridcoop_home.protocol.bids import BidCurves, BidStep
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.cli import serve
from hub.config import DEFAULT_CONNECTION_LIMIT_KW, ConfigError, HubConfig, load_config
from hub.grid import feeder_from_dict
from hub.market import clear_uniform_price
from hub.service.clearing import clear_periodic, curves_of, order_of
from hub.service.network import network_warnings
from hub.store.records import StoredBid

INTERVAL = 1_800_000_000  # aligned to 15 minutes


def bid(home_id: str, buy: Sequence[tuple[int, int]] = (), sell: Sequence[tuple[int, int]] = ()):
    curves = BidCurves(
        buy=tuple(BidStep(p, e, "battery") for p, e in buy),
        sell=tuple(BidStep(p, e, "pv") for p, e in sell),
    )
    return StoredBid(home_id, INTERVAL, "k", 1, 0, curves.to_wire(), f"d-{home_id}", "s", 0)


def config_with(tmp_path: Path, network: str) -> HubConfig:
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[[tariff]]\nstart = "00:00"\nretail_price = 30\nfeed_in_price = 8\n[network]\n{network}\n'
    )
    return load_config(path)


def clear(config: HubConfig, bids: Sequence[StoredBid]):
    return clear_periodic(config, INTERVAL, bids, {}, None, 0)


# --- configuration ------------------------------------------------------------------------------


def test_an_unset_limit_defaults_to_400_kw_with_a_warning() -> None:
    config = HubConfig()

    assert config.network.connection_kw == DEFAULT_CONNECTION_LIMIT_KW == 400.0
    (warning,) = network_warnings(config)
    assert "connection_limit_kw" in warning and "400 kW" in warning


def test_a_configured_limit_is_used_without_warning(tmp_path: Path) -> None:
    config = config_with(tmp_path, "connection_limit_kw = 120")

    assert config.network.connection_kw == 120.0
    assert network_warnings(config) == []


@pytest.mark.parametrize("value", ["0", "-5", '"big"', "true", "1e9"])
def test_a_wrong_limit_names_the_setting(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"network\.connection_limit_kw"):
        config_with(tmp_path, f"connection_limit_kw = {value}")


def test_a_limit_next_to_a_feeder_file_is_refused(tmp_path: Path) -> None:
    example = Path(__file__).parents[3] / "examples" / "feeders" / "lindenweg.json"
    with pytest.raises(ConfigError, match="connection_limit_kw is for hubs without a feeder"):
        config_with(tmp_path, f'feeder_file = "{example}"\nconnection_limit_kw = 100')


# --- clearing within the limit ------------------------------------------------------------------


def test_imports_beyond_the_connection_are_held_within_it(tmp_path: Path) -> None:
    config = config_with(tmp_path, "connection_limit_kw = 10")  # 9.5 kW planned: 2375 Wh
    bids = [bid("a", buy=[(35, 2000)]), bid("b", buy=[(32, 3000)])]

    cleared = clear(config, bids)

    assert cleared.interval.grid_import_wh == 2375
    assert cleared.interval.method == "lp"
    assert [(b["kind"], b["element"]) for b in cleared.interval.binding] == [
        ("thermal", "connection")
    ]
    cut = {a.home_id: a.curtailed_buy_wh for a in cleared.allocations}
    assert cut == {"a": 0, "b": 2625}  # the higher bid is served first
    assert cleared.network is None  # no feeder: no IntervalNetwork is published


def test_exports_beyond_the_connection_are_held_within_it(tmp_path: Path) -> None:
    config = config_with(tmp_path, "connection_limit_kw = 10")
    bids = [bid("pv1", sell=[(5, 4000)]), bid("pv2", sell=[(6, 4000)]), bid("b", buy=[(25, 1000)])]

    cleared = clear(config, bids)

    assert cleared.interval.grid_export_wh == 2375
    sold = {a.home_id: a.sold_local_wh + a.sold_grid_wh for a in cleared.allocations}
    assert sold["pv1"] + sold["pv2"] - 1000 == 2375  # net export at the limit
    assert sold["pv1"] == 3375  # the cheaper PV sells first


def test_while_the_limit_does_not_bind_the_result_is_the_uniform_price_market() -> None:
    config = HubConfig()
    bids = [bid("a", buy=[(35, 2000)]), bid("b", buy=[(25, 3000)]), bid("s", sell=[(10, 4000)])]
    rules = config.market_rules(INTERVAL)

    cleared = clear(config, bids)

    uniform = clear_uniform_price([order_of(b.home_id, curves_of(b)) for b in bids], rules)
    assert cleared.interval.method == "uniform_price"
    assert cleared.interval.welfare_mminor == uniform.welfare_mminor
    assert (cleared.interval.price, cleared.interval.volume_wh) == (
        uniform.price,
        uniform.volume_wh,
    )
    assert [a.paid_mminor for a in cleared.allocations] == [
        a.paid_mminor for a in uniform.allocations
    ]


# --- the same as an explicit one-node feeder ----------------------------------------------------


def one_node_feeder(limit_kw: float, homes: Sequence[str]):
    return feeder_from_dict(
        {
            "format": "gridcoop-feeder/1",
            "name": "one node",
            "nominal_kv": 0.4,
            "transformer": {"name": "connection", "bus": 0, "limit_kva": limit_kw},
            "buses": [{"id": 0}],
            "lines": [],
            "homes": {h: 0 for h in homes},
        }
    )


side = st.lists(st.tuples(st.integers(-20, 60), st.integers(1, 6000)), max_size=3)


@st.composite
def neighbourhoods(draw: st.DrawFn) -> list[StoredBid]:
    bids = []
    for n in range(draw(st.integers(1, 6))):
        buy = sorted(draw(side), reverse=True)
        sell = sorted(draw(side))
        if buy and sell and buy[0][0] >= sell[0][0]:
            sell = [(buy[0][0] + 1 + i, e) for i, (_, e) in enumerate(sell)]
        if buy or sell:
            bids.append(bid(f"h{n}", buy, sell))
    return bids


@settings(max_examples=40, deadline=None)
@given(bids=neighbourhoods(), limit_kw=st.sampled_from([5.0, 12.5, 40.0, 400.0]))
def test_it_clears_as_the_network_clearing_on_an_explicit_one_node_feeder(
    bids: list[StoredBid], limit_kw: float
) -> None:
    base = HubConfig()
    without_feeder = replace(base, network=replace(base.network, connection_limit_kw=limit_kw))
    feeder = one_node_feeder(limit_kw, [b.home_id for b in bids])
    on_feeder = replace(base, network=replace(base.network, feeder=feeder))

    ours = clear_periodic(without_feeder, INTERVAL, bids, {}, None, 0)
    theirs = clear_periodic(on_feeder, INTERVAL, bids, {}, dict(feeder.homes), 0)

    assert ours.allocations == theirs.allocations
    assert (ours.interval.price, ours.interval.grid_import_wh, ours.interval.grid_export_wh) == (
        theirs.interval.price,
        theirs.interval.grid_import_wh,
        theirs.interval.grid_export_wh,
    )
    assert ours.interval.binding == theirs.interval.binding
    assert (
        max(ours.interval.grid_import_wh, ours.interval.grid_export_wh)
        <= (
            limit_kw * 250 * 0.95 + len(bids)  # rounding to whole Wh per home
        )
        or ours.interval.method == "backstop"
    )


async def test_serve_warns_at_start_when_it_assumes_the_connection_limit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"

    def warned() -> bool:
        return any(
            r.levelno == logging.WARNING and "assumes a 400 kW connection" in r.getMessage()
            for r in caplog.records
        )

    task = asyncio.create_task(serve(db_url, "127.0.0.1", 0, None, ledger=False))
    try:
        for _ in range(200):
            if warned() or task.done():
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert warned()
