"""Entry format 2: readings and settlements as tables, one entry where format 1 has one per home.

Format 2 records the same ledger as format 1 (same balances, lots, certificates and tokens), and
the audit names a tampered table down to its row and column, just as it names a format-1 entry.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.ledger.entries import allocations_of
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.tables import expand
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.readings import Registers, sign_reading

from hub.cli import main
from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.audit import AuditReport, audit, audit_export
from hub.ledger.chain.chain import ChainBlock, encode
from hub.ledger.chain.export import write_export
from hub.store import Store
from hub.store.ledger_store import LedgerStore
from tests.hub.ledger.factory import INTERVAL, T0, ChainBuilder, trade_chain
from tests.hub.ledger.test_audit import appended, signed_block

AUDITS = ["one process", "seals in a child process"]


@pytest.fixture(scope="module")
def chain() -> ChainBuilder:
    return trade_chain(entry_format=2)


def audited(blocks: Sequence[ChainBlock], how: str, folder: Path) -> AuditReport:
    if how == "one process":
        return audit(blocks)
    path = folder / "chain.jsonl"
    write_export(path, blocks)
    return audit_export(path, batch_size=2)


def settlement_raw(chain: ChainBuilder) -> bytes:
    return next(raw for raw in chain.blocks[3].entries if b'"kind":"settled_interval"' in raw)


def test_a_block_holds_one_readings_table_and_one_settlement_table(chain: ChainBuilder) -> None:
    kinds = [[json.loads(raw)["kind"] for raw in block.entries] for block in chain.blocks]
    assert kinds[2] == ["clearing", "meter_readings", "meter_readings"]  # the factory's order
    assert kinds[3] == ["settled_interval", "retire"]
    [table] = [json.loads(raw) for raw in chain.blocks[3].entries[:1]]
    assert table["settlements"]["fields"][:2] == ["home_id", "metered"]
    assert [row[0] for row in table["settlements"]["rows"]] == ["buyer", "seller"]


@pytest.mark.parametrize("how", AUDITS)
def test_the_same_trade_leaves_the_same_accounts_in_either_format(
    chain: ChainBuilder, how: str, tmp_path: Path
) -> None:
    report = audited(chain.blocks, how, tmp_path)
    assert report.ok, report.message
    old = trade_chain(entry_format=1)
    for home in ("buyer", "seller"):
        assert named(chain, report.state.account(home)) == named(old, old.state.account(home))
    assert named(chain, report.state.lots) == named(old, old.state.lots)


def named(chain: ChainBuilder, value: object) -> str:
    """`value` with each meter's random key id replaced by its home and kind (to compare two
    chains built alike, whose keys differ)."""
    text = repr(value)
    for home in chain.homes.values():
        for kind, key in home.meters.items():
            text = text.replace(key.key_id, f"{home.home_id}/{kind}")
    return text


def random_neighbourhood(seed: int, entry_format: int) -> ChainBuilder:
    """Homes with and without PV trading over several intervals, the same for a seed."""
    rng = random.Random(seed)
    chain = ChainBuilder(entry_format=entry_format)
    homes = {f"h{n}": ("grid", "pv") if rng.random() < 0.5 else ("grid",) for n in range(6)}
    registers = {(home, kind): [0, 0] for home, kinds in homes.items() for kind in kinds}
    for home, kinds in homes.items():
        chain.enrol(home, kinds)

    def read(ts: int) -> None:
        for home, kinds in homes.items():
            if rng.random() < 0.9:  # a missed reading leaves a home unmetered for a while
                chain.readings(home, ts, **{kind: tuple(registers[(home, kind)]) for kind in kinds})

    read(T0)
    chain.seal(None)
    for k in range(5):
        start = T0 + k * INTERVAL
        sellers = [home for home, kinds in homes.items() if "pv" in kinds]
        buyers = [home for home in homes if home not in sellers]
        volume = rng.randint(0, 900) if sellers and buyers else 0
        specs = []
        for side, field, homes_on_side in (
            ("sold_local_wh", "received_mminor", sellers),
            ("bought_local_wh", "paid_mminor", buyers),
        ):
            shares = [volume // len(homes_on_side)] * len(homes_on_side) if homes_on_side else []
            if shares:
                shares[0] += volume - sum(shares)
            specs += [
                {"home_id": home, side: share, field: share * 20, "bought_grid_wh": 50}
                for home, share in zip(homes_on_side, shares, strict=True)
            ]
        chain.clearing(start, specs)
        for (home, kind), values in registers.items():
            values[0] += rng.randint(0, 400) if kind == "grid" else 0
            values[1] += rng.randint(0, 700) if kind != "grid" or home in sellers else 0
        read(start + INTERVAL)
        chain.seal(start)
        if start in chain.state.clearings:
            chain.settle(start)
            chain.seal(start + INTERVAL)
    return chain


@pytest.mark.parametrize("seed", range(4))
def test_format_2_records_the_same_ledger_as_format_1(seed: int) -> None:
    one, two = random_neighbourhood(seed, 1), random_neighbourhood(seed, 2)
    for name in ("balances", "lots", "certificates", "flex", "utility", "minted", "burned"):
        assert named(two, getattr(two.state, name)) == named(one, getattr(one.state, name))
    assert two.state.settled == one.state.settled
    assert audit(two.blocks).ok
    assert sum(block.header.entry_count for block in two.blocks) < sum(
        block.header.entry_count for block in one.blocks
    )


def forged_table(chain: ChainBuilder) -> dict[str, Any]:
    forged = json.loads(settlement_raw(chain))
    forged["settlements"]["rows"][0][12] += 10_000  # buyer's balance_mminor, in its favour
    return forged


@pytest.mark.parametrize("how", AUDITS)
def test_a_rewritten_settlement_row_is_named_by_table_row_home_and_column(
    chain: ChainBuilder, how: str, tmp_path: Path
) -> None:
    # The hub holds the key: it re-seals block 3 with its forged table instead of the honest one.
    block = chain.blocks[3]
    raws = [encode(forged_table(chain))[0], *block.entries[1:]]
    replaced = signed_block(chain, 3, block.header.prev_hash, raws)
    report = audited([*chain.blocks[:3], replaced], how, tmp_path)
    assert (report.bad_block, report.bad_entry) == (3, 0)
    assert (
        f"settlement of interval {T0}: settlements row 0: home_id buyer: "
        "balance_mminor is -3500, recomputed -13500"
    ) in report.message


def test_an_interval_settles_once(chain: ChainBuilder) -> None:
    later = forged_table(chain)
    later["mints"]["rows"] = []  # no mint to trip over first
    report = audit(appended(chain, [encode(later)[0]]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert f"already_settled: interval {T0} is already settled" in report.message


def test_a_second_mint_in_a_table_is_a_double_mint(chain: ChainBuilder) -> None:
    report = audit(appended(chain, [settlement_raw(chain)]))
    meter = json.loads(settlement_raw(chain))["mints"]["rows"][0][2]
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert f"(settled_interval) double_mint: meter {meter} already minted" in report.message


@pytest.mark.parametrize("how", AUDITS)
def test_an_unsigned_reading_row_smuggled_into_a_table_is_named(
    chain: ChainBuilder, how: str, tmp_path: Path
) -> None:
    key = chain.homes["seller"].meters["pv"].key_id
    fake = {
        "kind": "meter_readings",
        "fields": ["key_id", "seq", "ts", "import_wh", "export_wh", "sig"],
        "rows": [[key, 999, (T0 + 2000) * 1000, 0, 99_999, "AAAA"]],
    }
    report = audited(appended(chain, [encode(fake)[0]]), how, tmp_path)
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert "bad_signature: reading 0: meter signature does not verify" in report.message


def test_a_format_1_entry_in_a_format_2_chain_is_refused(chain: ChainBuilder) -> None:
    key = chain.homes["buyer"].meters["grid"].key_id
    old_style = {"kind": "readings", "home_id": "buyer", "readings": [[key, 999, 1, 0, 0, "A"]]}
    report = audit(appended(chain, [encode(old_style)[0]]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert "readings entries belong to entry format 1; this chain uses format 2" in report.message


def test_a_table_with_unknown_columns_is_refused(chain: ChainBuilder) -> None:
    key = chain.homes["buyer"].meters["grid"].key_id
    table = {"kind": "meter_readings", "fields": ["key_id"], "rows": [[key]]}
    report = audit(appended(chain, [encode(table)[0]]))
    assert "meter_readings fields must be" in report.message


def test_the_hub_leaves_out_a_refused_reading_and_keeps_the_rest_of_the_block() -> None:
    chain = ChainBuilder(entry_format=2)
    home = chain.enrol("h", ("grid", "pv"))
    chain.readings("h", T0, grid=(0, 0), pv=(0, 0))
    state: LedgerState = chain.state
    grid, pv = home.meters["grid"], home.meters["pv"]
    replayed = sign_reading(grid, Registers(5, 0), home.seq - 1, (T0 + 60) * 1000)  # old seq
    fresh = sign_reading(pv, Registers(0, 9), home.next_seq(), (T0 + 60) * 1000)
    rows = [
        [m.key_id, m.seq, m.ts, m.body["import_wh"], m.body["export_wh"], m.sig]
        for m in (replayed, fresh)
    ]
    accepted, refused = state.split_readings(rows)
    assert accepted == [rows[1]]
    [(row, err)] = refused
    assert row == rows[0] and isinstance(err, LedgerError) and err.reason == "replay"


def test_verify_reads_a_format_2_export(
    chain: ChainBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.jsonl"
    write_export(path, chain.blocks)
    assert main(["--log-level", "error", "verify", "--export", str(path)]) == 0
    assert "OK: 4 blocks, 10 entries, 4 final" in capsys.readouterr().out


async def test_the_database_refuses_a_second_mint_from_a_settlement_table(
    db_url: str, chain: ChainBuilder
) -> None:
    store = await Store.open(db_url)
    try:
        ledger = LedgerStore(store)
        rows = [
            (json.loads(raw), raw.decode(), hash_)
            for block in chain.blocks
            for raw, hash_ in zip(block.entries, block.hashes or [], strict=True)
        ]
        for entry_row in rows:
            await ledger.append_pending(entry_row)
        table = json.loads(settlement_raw(chain))
        settlements = await ledger.settlements("buyer", T0, T0 + INTERVAL)
        assert [s["balance_mminor"] for s in settlements] == [-13_500]
        assert [p["kind"] for p in expand(table)] == ["settlement", "settlement", "mint", "burn"]
        again = copy.deepcopy(table)
        again["settlements"]["rows"] = []  # the mint alone, under another hash
        with pytest.raises(ProtocolError) as err:
            raw, hash_ = encode(again)
            await ledger.append_pending((again, raw.decode(), hash_))
        assert err.value.reason == "double_mint"
    finally:
        await store.close()


def clearing_table(chain: ChainBuilder) -> dict[str, Any]:
    return next(json.loads(raw) for raw in chain.blocks[2].entries if b'"kind":"clearing"' in raw)


def test_a_clearing_holds_its_allocations_as_a_table(chain: ChainBuilder) -> None:
    clearing = clearing_table(chain)
    assert clearing["allocations"]["fields"][:3] == ["home_id", "bought_local_wh", "sold_local_wh"]
    assert [a["home_id"] for a in allocations_of(clearing)] == ["buyer", "seller"]
    assert allocations_of(clearing)[0]["bought_local_wh"] == 600


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t["rows"][1].__setitem__(8, t["rows"][0][8]), "bid not signed by its home key"),
        (lambda t: t["rows"][0].__setitem__(1, -600), "bought_local_wh must be >= 0"),
        (lambda t: t["rows"][0].pop(), "an allocation row holds 13 values"),
        (lambda t: t["fields"].reverse(), "allocations must be a table of"),
        (lambda t: t["rows"].reverse(), "allocations must be sorted by home id"),
    ],
)
def test_a_bad_allocation_row_is_named_as_in_format_1(
    chain: ChainBuilder, change: Any, problem: str
) -> None:
    clearing = clearing_table(chain)
    clearing["interval_start"] = clearing["interval_end"] = T0 + 10 * INTERVAL
    clearing["interval_end"] += INTERVAL
    change(clearing["allocations"])
    report = audit(appended(chain, [encode(clearing)[0]]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert problem in report.message
