"""`verify` recomputes everything and names the first bad block and entry for each tampering.

Every case runs twice: through the one-process `audit` and through `audit_export`, which checks
the seals in a child process while it replays the rules (what `verify --export` runs); both must
name the same block, entry and problem.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from gridcoop_home.ledger import bls
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.entries import entry_hash
from gridcoop_home.ledger.transactions import build_retirement

from hub.cli import main
from hub.ledger.chain import audit as audits
from hub.ledger.chain.audit import AuditReport
from hub.ledger.chain.chain import ChainBlock, encode, make_header
from hub.ledger.chain.export import write_export
from tests.hub.ledger.factory import T0, ChainBuilder, replace_entry, trade_chain

Audit = Callable[..., AuditReport]
audit: Audit = audits.audit  # the audit under test, set per run by `audit_mode`


def audit_through_an_export(folder: Path) -> Audit:
    def run(
        blocks: Sequence[ChainBlock],
        backend: bls.BlsBackend | None = None,
        check_meter_signatures: bool = True,
    ) -> AuditReport:
        path = folder / f"chain{len(list(folder.iterdir()))}.jsonl"
        write_export(path, blocks)
        return audits.audit_export(path, backend, check_meter_signatures, batch_size=2)

    return run


@pytest.fixture(autouse=True, params=["one process", "seals in a child process"])
def audit_mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    global audit
    audit = audits.audit if request.param == "one process" else audit_through_an_export(tmp_path)
    yield
    audit = audits.audit


@pytest.fixture(scope="module")
def chain() -> ChainBuilder:
    return trade_chain()


def signed_block(
    chain: ChainBuilder,
    height: int,
    prev: str,
    raws: Sequence[bytes],
    signers: Sequence[int] = (0,),
) -> ChainBlock:
    """A block as a hub holding the key would seal it, whatever its entries say."""
    header = make_header(height, prev, raws, T0 * 1000, None)
    secrets = [chain.hub_secret, *chain.witness_secrets]
    message = signing_message(header.hash)
    signature = chain.backend.aggregate([chain.backend.sign(secrets[i], message) for i in signers])
    hashes = [encode(json.loads(raw))[1] for raw in raws]
    return ChainBlock(SignedHeader(header, sum(1 << i for i in signers), signature), raws, hashes)


def appended(chain: ChainBuilder, raws: Sequence[bytes]) -> list[ChainBlock]:
    last = chain.blocks[-1]
    return [*chain.blocks, signed_block(chain, last.header.height + 1, last.header.hash, raws)]


def test_an_honest_chain_verifies(chain: ChainBuilder) -> None:
    report = audit(chain.blocks)
    assert report.ok, report.message
    assert (report.blocks, report.final_blocks) == (4, 4)
    assert report.state.balances == {"buyer": -13_500, "seller": 12_000}


def test_the_py_ecc_reference_agrees_on_a_small_chain() -> None:
    reference = bls.get_backend("py_ecc")
    small = ChainBuilder(reference)
    small.enrol("h")
    small.seal(None)
    assert audit(small.blocks, reference).ok
    forged = dataclasses.replace(
        small.blocks[1],
        signed=SignedHeader(small.blocks[1].header, 1, small.blocks[0].signed.signature),
    )
    report = audit([small.blocks[0], forged], reference)
    assert (report.bad_block, report.problem) == (1, "aggregate signature does not verify")


def test_an_altered_entry_row_is_named(chain: ChainBuilder) -> None:
    block = chain.blocks[3]
    altered = block.entries[0].replace(b'"amount_mminor":-13500', b'"amount_mminor":-3500')
    report = audit([*chain.blocks[:3], replace_entry(block, 0, altered)])
    assert (report.bad_block, report.bad_entry) == (3, 0)
    assert "content does not match its recorded hash" in report.message


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_merkle_root(
    chain: ChainBuilder,
) -> None:
    block = chain.blocks[3]
    altered = block.entries[0].replace(b'"amount_mminor":-13500', b'"amount_mminor":-3500')
    hashes = list(block.hashes or [])
    hashes[0] = encode(json.loads(altered))[1]
    tampered = dataclasses.replace(replace_entry(block, 0, altered), hashes=hashes)
    report = audit([*chain.blocks[:3], tampered])
    assert (report.bad_block, report.bad_entry) == (3, None)
    assert "Merkle root" in report.message


def test_a_rewritten_header_no_longer_carries_valid_signatures(chain: ChainBuilder) -> None:
    block = chain.blocks[2]
    raws = list(block.entries)
    raws[0] = raws[0].replace(b'"paid_mminor":12000', b'"paid_mminor":1200')
    header = make_header(
        2, block.header.prev_hash, raws, block.header.time_ms, block.header.interval_start
    )
    hashes = [encode(json.loads(raw))[1] for raw in raws]
    rewritten = ChainBlock(
        SignedHeader(header, block.signed.signers, block.signed.signature), raws, hashes
    )
    report = audit([*chain.blocks[:2], rewritten, *chain.blocks[3:]])
    assert report.bad_block == 2
    assert report.problem == "aggregate signature does not verify"


def test_reordered_entries_change_the_merkle_root(chain: ChainBuilder) -> None:
    block = chain.blocks[1]
    swapped = dataclasses.replace(
        block,
        entries=[block.entries[1], block.entries[0], *block.entries[2:]],
        hashes=[block.hashes[1], block.hashes[0], *block.hashes[2:]],  # type: ignore[index]
    )
    report = audit([chain.blocks[0], swapped, *chain.blocks[2:]])
    assert report.bad_block == 1 and "Merkle root" in report.message


def test_reordered_or_missing_blocks_are_named(chain: ChainBuilder) -> None:
    blocks = chain.blocks
    report = audit([blocks[0], blocks[2], blocks[1], blocks[3]])
    assert report.message.startswith("BAD block 1: height 2 where block 1 should be")
    relabelled = audit([blocks[0], blocks[1], blocks[3]])
    assert relabelled.bad_block == 2


def test_a_forged_witness_signature_is_caught() -> None:
    chain = ChainBuilder(witnesses=1, threshold=2)
    chain.enrol("h")
    chain.seal(None, signers=[0, 1])
    honest = chain.blocks[-1]
    assert audit(chain.blocks).final_blocks == 1  # before the witness joined: the hub alone
    # The hub claims the witness co-signed but only has its own signature.
    hub_only = chain.backend.sign(chain.hub_secret, signing_message(honest.header.hash))
    forged = dataclasses.replace(honest, signed=SignedHeader(honest.header, 0b11, hub_only))
    report = audit([*chain.blocks[:-1], forged])
    assert (report.bad_block, report.problem) == (2, "aggregate signature does not verify")


def test_a_signer_that_is_no_validator_is_named() -> None:
    chain = ChainBuilder()
    block = chain.blocks[0]
    claimed = dataclasses.replace(
        block, signed=SignedHeader(block.header, 0b101, block.signed.signature)
    )
    report = audit([claimed])
    assert report.message == "BAD block 0: signer 2 is not a validator active at height 0"


def test_blocks_below_the_threshold_are_reported_as_not_final() -> None:
    chain = ChainBuilder(threshold=2, witnesses=1)
    chain.seal(None, signers=[0, 1])
    report = audit(chain.blocks)
    assert report.ok
    assert (report.final_blocks, report.not_final) == (1, [0, 1])


def test_a_double_mint_sealed_by_a_dishonest_hub_is_named(chain: ChainBuilder) -> None:
    mint = next(raw for raw in chain.blocks[3].entries if b'"kind":"mint"' in raw)
    report = audit(appended(chain, [mint]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    meter = json.loads(mint)["meter_key_id"]
    assert (
        f"(mint) double_mint: meter {meter} already minted for interval {T0} (block 3 entry 2)"
        in report.message
    )


def test_a_second_retirement_of_the_same_certificate_is_named(chain: ChainBuilder) -> None:
    buyer = chain.homes["buyer"]
    lot = next(iter(chain.state.certificates["buyer"]))
    rest = build_retirement(
        buyer.key, "buyer", lot=lot, units=4, purpose="heat pump", seq=10_001, ts=T0
    )
    again = build_retirement(
        buyer.key, "buyer", lot=lot, units=4, purpose="heat pump", seq=10_002, ts=T0
    )
    report = audit(appended(chain, [encode(rest)[0], encode(again)[0]]))
    assert (report.bad_block, report.bad_entry) == (4, 1)
    assert (
        f"already_retired: lot {lot}: home buyer already retired its certificates (block 4 entry 0)"
        in report.message
    )


def test_an_unsigned_reading_smuggled_in_by_the_hub_is_named(chain: ChainBuilder) -> None:
    seller = chain.homes["seller"]
    key = seller.meters["pv"].key_id
    fake = {
        "kind": "readings",
        "home_id": "seller",
        "readings": [[key, 999, (T0 + 2000) * 1000, 0, 99_999, "AAAA"]],
    }
    report = audit(appended(chain, [encode(fake)[0]]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert "bad_signature: reading 0: meter signature does not verify" in report.message
    assert audit(appended(chain, [encode(fake)[0]]), check_meter_signatures=False).ok


def test_verify_command_reads_an_export_and_exits_nonzero_on_the_first_bad_block(
    chain: ChainBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    write_export(good, chain.blocks)
    block = chain.blocks[3]
    write_export(
        bad,
        [*chain.blocks[:3], replace_entry(block, 1, block.entries[1].replace(b"12000", b"13000"))],
    )
    assert main(["--log-level", "error", "verify", "--export", str(good)]) == 0
    assert "OK: 4 blocks, 13 entries, 4 final" in capsys.readouterr().out
    assert main(["--log-level", "error", "verify", "--export", str(bad)]) == 1
    assert (
        "BAD block 3 entry 1: content does not match its recorded hash" in capsys.readouterr().out
    )
    assert main(["--log-level", "error", "verify", "--export", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("name", bls.available_backends())
def test_every_installed_backend_audits_the_same_chain_alike(
    chain: ChainBuilder, name: str
) -> None:
    backend = bls.get_backend(name)
    assert audit(chain.blocks, backend).message == audit(chain.blocks).message
    block = chain.blocks[2]
    hub_only = SignedHeader(block.header, 0b1, chain.blocks[1].signed.signature)
    report = audit([*chain.blocks[:2], dataclasses.replace(block, signed=hub_only)], backend)
    assert (report.bad_block, report.problem) == (2, "aggregate signature does not verify")


def smuggled_reading(chain: ChainBuilder) -> bytes:
    key = chain.homes["seller"].meters["pv"].key_id
    fake = {
        "kind": "readings",
        "home_id": "seller",
        "readings": [[key, 999, (T0 + 2000) * 1000, 0, 99_999, "AAAA"]],
    }
    return encode(fake)[0]


def second_clearing(chain: ChainBuilder) -> bytes:
    clearing = next(raw for raw in chain.blocks[2].entries if b'"kind":"clearing"' in raw)
    return clearing  # interval T0 again


def test_of_two_bad_entries_in_a_block_the_first_is_named(chain: ChainBuilder) -> None:
    # The readings' rules and the other rules may be checked by different processes: the
    # report still names the block's first bad entry.
    report = audit(appended(chain, [second_clearing(chain), smuggled_reading(chain)]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert f"interval {T0} was already cleared" in report.message
    report = audit(appended(chain, [smuggled_reading(chain), second_clearing(chain)]))
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert "bad_signature: reading 0" in report.message


def test_a_readings_entry_not_in_canonical_json_is_refused(chain: ChainBuilder) -> None:
    # Spelled with an escape, the kind still decodes as "readings": it must not slip past the
    # readings' checks by hiding from the process that looks for their canonical bytes.
    disguised = smuggled_reading(chain).replace(b'"kind":"readings"', b'"kind":"read\\u0069ngs"')
    blocks = appended(chain, [disguised])
    blocks[-1] = dataclasses.replace(blocks[-1], hashes=[entry_hash(disguised).hex()])
    report = audit(blocks)
    assert (report.bad_block, report.bad_entry) == (4, 0)
    assert "(readings) invalid_entry: the entry is not canonical JSON" in report.message


def two_more_blocks(chain: ChainBuilder, fifth: Sequence[bytes]) -> list[ChainBlock]:
    """Block 4 enrols a new home; block 5 (odd: with meter signatures on, the rules process
    checks its readings rather than the seal process) holds `fifth`."""
    enrol = {"kind": "enrol", "home_id": "newcomer", "bus": None, "keys": []}
    blocks = appended(chain, [encode(enrol)[0]])
    last = blocks[-1].header
    return [*blocks, signed_block(chain, last.height + 1, last.hash, fifth)]


@pytest.mark.parametrize("height", [4, 5])
def test_bad_readings_are_named_alike_in_even_and_odd_blocks(
    chain: ChainBuilder, height: int
) -> None:
    malformed = encode({"kind": "readings", "home_id": "seller", "readings": "x"})[0]
    for raw, problem, bad_when_trusted in (
        (smuggled_reading(chain), "bad_signature: reading 0: meter signature does not verify", 0),
        (malformed, "invalid_entry: readings must be a non-empty list", 1),
    ):
        blocks = appended(chain, [raw]) if height == 4 else two_more_blocks(chain, [raw])
        report = audit(blocks)
        assert (report.bad_block, report.bad_entry) == (height, 0), report.message
        assert problem in report.message
        trusted = audit(blocks, check_meter_signatures=False)
        assert trusted.ok != bool(bad_when_trusted)
        assert bad_when_trusted == 0 or problem in trusted.message
