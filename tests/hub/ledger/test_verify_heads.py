"""`python -m hub verify --heads`: a chain that differs from a signed head a witness or a home
kept fails, naming the height and where the head came from; a forged head fails too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.bls import generate_secret_key
from gridcoop_home.ledger.heads import Equivocation, SignedHead

from hub.cli import main
from hub.ledger.chain.export import write_export
from tests.hub.ledger.factory import ChainBuilder, trade_chain


def export(chain: ChainBuilder, path: Path, stop: int | None = None) -> str:
    write_export(path, chain.blocks[:stop])
    return str(path)


def heads_file(path: Path, *heads: SignedHead) -> str:
    path.write_text("".join(json.dumps(head.to_wire()) + "\n" for head in heads))
    return str(path)


def head(chain: ChainBuilder, height: int, source: str = "witness w") -> SignedHead:
    return SignedHead(
        chain.blocks[height].signed, "test-chain", chain.blocks[0].header.hash, source
    )


def verify(*args: str) -> int:
    return main(["--log-level", "error", "verify", *args])


def test_heads_of_the_same_chain_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = trade_chain()
    heads = heads_file(tmp_path / "heads.jsonl", head(chain, 3), head(chain, 1, "home buyer"))
    assert verify("--export", export(chain, tmp_path / "chain.jsonl"), "--heads", heads) == 0
    out = capsys.readouterr().out
    assert "2 signed heads from 2 sources match this chain" in out and out.startswith("OK:")


def test_a_chain_that_differs_from_a_head_fails_naming_height_and_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen, served = (
        trade_chain(),
        trade_chain(key_salt="another history "),
    )  # one genesis, two histories from block 1
    heads = heads_file(tmp_path / "heads.jsonl", head(seen, 3, "home buyer"), head(seen, 2))

    assert verify("--export", export(served, tmp_path / "chain.jsonl"), "--heads", heads) == 1

    out = capsys.readouterr().out
    assert (
        "BAD block 2: a signed head differs from this chain: block 2 (head from witness w)" in out
    )
    assert f"the head's holder saw {seen.blocks[2].header.hash[:16]}..." in out
    assert "signed by validators [0], final (threshold 1): history was rewritten" in out
    assert "signed head differs: block 3 (head from home buyer)" in out


def test_a_chain_cut_below_a_head_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = trade_chain()
    heads = heads_file(tmp_path / "heads.jsonl", head(chain, 3))
    assert verify("--export", export(chain, tmp_path / "chain.jsonl", 3), "--heads", heads) == 1
    assert "this chain has no block 3; the head's holder saw one" in capsys.readouterr().out


def test_a_forged_head_or_one_of_another_chain_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = trade_chain()
    chain_file = export(chain, tmp_path / "chain.jsonl")
    stranger = generate_secret_key(b"someone else's key, not the hub0")
    header = chain.blocks[2].header
    forged = SignedHeader(header, 1, chain.backend.sign(stranger, signing_message(header.hash)))
    heads = heads_file(tmp_path / "forged.jsonl", SignedHead(forged, source="forger"))
    assert verify("--export", chain_file, "--heads", heads) == 1
    assert "its signature does not stand against this chain's validators" in (
        capsys.readouterr().out
    )
    other = SignedHead(chain.blocks[2].signed, "another-chain", None, "elsewhere")
    assert verify("--export", chain_file, "--heads", heads_file(tmp_path / "o.jsonl", other)) == 1
    assert "it belongs to chain another-chain; this chain is test-chain" in capsys.readouterr().out


def test_a_hub_block_list_and_an_equivocation_document_are_heads_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen, served = trade_chain(), trade_chain(key_salt="another history ")
    listing = tmp_path / "blocks.json"
    listing.write_text(json.dumps({"blocks": [b.signed.to_wire() for b in seen.blocks]}))
    chain_file = export(served, tmp_path / "chain.jsonl")
    assert verify("--export", chain_file, "--heads", str(listing)) == 1
    assert f"block 1 (head from {listing})" in capsys.readouterr().out

    proof = Equivocation(seen.blocks[1].signed, served.blocks[1].signed, reporter="witness x")
    document = tmp_path / "equivocations.json"
    document.write_text(json.dumps({"equivocations": [proof.to_wire()]}))
    assert verify("--export", chain_file, "--heads", str(document)) == 1
    assert "block 1 (head from witness x)" in capsys.readouterr().out


def test_an_unreadable_heads_source_is_an_error_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain_file = export(trade_chain(), tmp_path / "chain.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"format": "gridcoop-signed-head-v1", "block": 7}\n')
    assert verify("--export", chain_file, "--heads", str(tmp_path / "bad.jsonl")) == 2
    assert "cannot read signed heads from" in capsys.readouterr().out
    assert verify("--export", chain_file, "--heads", str(tmp_path / "missing.jsonl")) == 2
