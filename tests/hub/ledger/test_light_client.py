"""The light client a home runs (gridcoop_home.ledger.light_client), against real chains.

It pins the validators it trusts at join time (proofs of possession checked), follows the final
head, reports a fork with both headers, proves its own settlement rows and balance against the
final head, notices a changed validator set, and survives a round trip through JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.bls import generate_secret_key
from gridcoop_home.ledger.heads import SignedHead
from gridcoop_home.ledger.light_client import LightClient
from gridcoop_home.ledger.merkle import merkle_proof

from tests.hub.ledger.factory import T0, ChainBuilder, trade_chain


def head_answer(chain: ChainBuilder, validators: int | None = None) -> dict[str, Any]:
    """What the hub's GET /api/v1/ledger/head lists for this chain (its first `validators`)."""
    secrets = [chain.hub_secret, *chain.witness_secrets][:validators]
    return {
        "chain_id": chain.params.chain_id,
        "threshold": chain.params.threshold,
        "validators": [
            {
                "index": index,
                "name": "hub" if index == 0 else f"witness {index - 1}",
                "public_key": chain.backend.secret_to_public(secret).hex(),
                "pop": chain.backend.prove_possession(secret).hex(),
            }
            for index, secret in enumerate(secrets)
        ],
    }


def blocks(chain: ChainBuilder, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    """What the hub's GET /api/v1/ledger/blocks lists."""
    return [block.signed.to_wire() for block in chain.blocks[start:stop]]


def settlement_proof(chain: ChainBuilder, home_id: str) -> dict[str, Any]:
    """The hub's proof of the home's latest settlement entry (GET /api/v1/ledger/entries/{h})."""
    for block in reversed(chain.blocks):
        for index, raw in enumerate(block.entries):
            entry = json.loads(raw)
            if entry["kind"] == "settlement" and entry["home_id"] == home_id:
                leaves = [bytes.fromhex(h) for h in block.hashes or ()]
                return {
                    "entry": entry,
                    "hash": leaves[index].hex(),
                    "height": block.header.height,
                    "index": index,
                    "proof": [p.hex() for p in merkle_proof(leaves, index)],
                    "block": block.signed.to_wire(),
                }
    raise AssertionError(f"no settlement of {home_id}")


def home_answer(
    chain: ChainBuilder, home_id: str, claimed: int | None = None, settled: int | None = None
) -> dict[str, Any]:
    """The hub's GET /api/v1/ledger/homes/{home_id} answer."""
    proof = settlement_proof(chain, home_id)
    balance = chain.state.balances[home_id] // 1000
    return {
        "account": {"home_id": home_id, "balance_minor": balance if claimed is None else claimed},
        "settlement": proof,
        "settled_height": proof["height"] if settled is None else settled,
    }


def followed(chain: ChainBuilder, home_id: str = "buyer") -> LightClient:
    client = LightClient.join(head_answer(chain), home_id)
    assert client.check_head(blocks(chain)).status == "ok"
    return client


def empty_blocks(chain: ChainBuilder, count: int) -> None:
    for _ in range(count):
        chain.seal(None)


def test_join_pins_the_listed_validators_and_refuses_a_bad_proof_of_possession() -> None:
    chain = ChainBuilder(witnesses=1)
    client = LightClient.join(head_answer(chain), "buyer")
    assert sorted(client.validators) == [0, 1] and client.threshold == 1
    forged = head_answer(chain)
    forged["validators"][1]["pop"] = forged["validators"][0]["pop"]
    with pytest.raises(ValueError, match="validator 1: the proof of possession does not verify"):
        LightClient.join(forged, "buyer")


def test_it_follows_the_chain_to_the_newest_final_block() -> None:
    chain = trade_chain()
    client = LightClient.join(head_answer(chain), "buyer")
    verdict = client.check_head(blocks(chain))
    assert (verdict.status, verdict.reason) == ("ok", "the final head is block 3")
    empty_blocks(chain, 2)
    assert client.blocks_from() == (3, 1000)
    assert client.check_head(blocks(chain, 3)).reason == "the final head is block 5"
    assert client.check_head(blocks(chain, 5)).reason == "no newer final block"
    assert client.head == chain.blocks[5].signed


def test_blocks_below_the_threshold_do_not_move_the_head() -> None:
    chain = ChainBuilder(threshold=2, witnesses=1)
    chain.seal(None, signers=[0, 1])  # block 2: final
    chain.seal(None)  # block 3: the hub alone
    client = LightClient.join(head_answer(chain), "buyer")
    assert client.check_head(blocks(chain)).reason == "the final head is block 2"


def test_another_block_at_the_known_height_is_a_fork_with_both_headers() -> None:
    seen, rewritten = (
        trade_chain(),
        trade_chain(key_salt="another history "),
    )  # same genesis, other homes from block 1
    client = followed(seen)

    verdict = client.check_head(blocks(rewritten, 3))

    assert verdict.status == "fork" and "block 3 has another hash now" in verdict.reason
    assert verdict.known == seen.blocks[3].signed
    assert verdict.found == rewritten.blocks[3].signed
    proof = verdict.equivocation(client.validators)
    assert proof is not None and proof.problem() is None and proof.height == 3
    assert client.head == seen.blocks[3].signed


def test_a_chain_that_does_not_extend_the_known_head_is_a_fork() -> None:
    seen, other = trade_chain(), trade_chain(key_salt="another history ")
    empty_blocks(other, 1)
    client = followed(seen)

    verdict = client.check_head([*blocks(seen, 3), *blocks(other, 4)])

    assert verdict.status == "fork" and "block 4 does not extend block 3" in verdict.reason
    assert (verdict.known, verdict.found) == (seen.blocks[3].signed, other.blocks[4].signed)


def test_a_hub_that_no_longer_has_the_known_head_cut_history() -> None:
    chain = trade_chain()
    client = followed(chain)
    verdict = client.check_head([])
    assert verdict.status == "fork" and "no longer serves block 3" in verdict.reason
    assert verdict.known == chain.blocks[3].signed and verdict.found is None
    shorter = client.check_head(blocks(chain, 1, 3))
    assert shorter.status == "fork" and "ends at block 2, below 3" in shorter.reason


def test_a_block_list_with_a_gap_or_a_bad_signature_proves_nothing() -> None:
    chain = trade_chain()
    client = LightClient.join(head_answer(chain), "buyer")
    gap = client.check_head([*blocks(chain, 0, 1), *blocks(chain, 2)])
    assert gap.status == "unprovable" and "skips from 0 to 2" in gap.reason
    stranger = generate_secret_key(b"not a validator of this chain 00")
    header = chain.blocks[3].header
    forged = SignedHeader(header, 1, chain.backend.sign(stranger, signing_message(header.hash)))
    verdict = client.check_head([*blocks(chain, 0, 3), forged.to_wire()])
    assert verdict.status == "unprovable" and "does not verify" in verdict.reason
    assert client.head is None


def test_a_signer_or_a_validator_it_does_not_trust_is_a_validator_set_change() -> None:
    chain = ChainBuilder(threshold=2, witnesses=2)
    chain.seal(None, signers=[0, 2])
    client = LightClient.join(head_answer(chain, validators=2), "buyer")  # hub and witness 0

    verdict = client.check_head(blocks(chain), head_answer(chain)["validators"])

    assert verdict.status == "validator_set_changed" and verdict.validators == (2,)
    assert client.head is None
    listed = head_answer(chain)["validators"]
    assert client.trust(listed) == [2]
    assert client.check_head(blocks(chain), listed).reason == "the final head is block 2"
    changed = client.check_head(blocks(chain, 2), listed[:2])
    assert (
        changed.status == "validator_set_changed" and "[2] are no longer listed" in changed.reason
    )


def test_its_own_settlement_and_balance_are_proven_against_the_final_head() -> None:
    chain = trade_chain()
    client = followed(chain)
    answer = home_answer(chain, "buyer")

    settled = client.check_settlement(answer["settlement"], blocks(chain, 3))
    balance = client.check_balance(answer, blocks(chain, 3))

    assert settled.status == "ok" and settled.row is not None
    assert settled.row["home_id"] == "buyer" and settled.row["interval_start"] == T0
    assert balance.status == "ok" and balance.balance_minor == chain.state.balances["buyer"] // 1000
    empty_blocks(chain, 3)
    assert client.check_head(blocks(chain, 3)).reason == "the final head is block 6"
    assert client.blocks_from(3) == (3, 1000)
    assert client.check_balance(answer, blocks(chain, 3)).status == "ok"  # linked to block 6
    unlinked = client.check_balance(answer, blocks(chain, 4))
    assert unlinked.status == "unprovable" and "cannot be linked" in unlinked.reason


def test_a_balance_the_hub_cannot_prove_is_reported_with_the_reason() -> None:
    chain = trade_chain()
    client = followed(chain)
    proven = chain.state.balances["buyer"] // 1000

    inflated = client.check_balance(
        home_answer(chain, "buyer", claimed=proven + 50), blocks(chain, 3)
    )
    assert inflated.status == "unprovable" and inflated.balance_minor == proven
    assert f"reports a balance of {proven + 50}" in inflated.reason
    altered = home_answer(chain, "buyer")
    altered["settlement"]["entry"]["balance_minor"] += 50
    verdict = client.check_balance(altered, blocks(chain, 3))
    assert verdict.status == "unprovable" and "does not lead to block 3" in verdict.reason
    someone_else = client.check_settlement(settlement_proof(chain, "seller"), blocks(chain, 3))
    assert (
        someone_else.status == "unprovable" and "no settlement of home buyer" in someone_else.reason
    )


def test_a_newer_settlement_not_final_yet_is_pending_until_the_head_passes_it() -> None:
    chain = trade_chain()
    client = followed(chain)
    proven = chain.state.balances["buyer"] // 1000

    pending = client.check_balance(
        home_answer(chain, "buyer", claimed=proven - 7, settled=4), blocks(chain, 3)
    )
    assert pending.status == "pending" and pending.ok and pending.balance_minor == proven
    empty_blocks(chain, 2)
    client.check_head(blocks(chain, 3))
    stale = client.check_balance(
        home_answer(chain, "buyer", claimed=proven - 7, settled=4), blocks(chain, 3)
    )
    assert stale.status == "unprovable" and "which is final here" in stale.reason


def test_a_proof_in_a_block_the_hub_also_serves_otherwise_is_a_fork() -> None:
    seen, other = trade_chain(), trade_chain(key_salt="another history ")
    client = followed(seen)
    verdict = client.check_settlement(settlement_proof(other, "buyer"), blocks(seen, 3))
    assert verdict.status == "fork" and "the proof's block 3 is another" in verdict.reason


def test_the_client_round_trips_through_json_and_exports_its_head() -> None:
    chain = trade_chain()
    client = followed(chain)  # from block 0: the head links back to the genesis it records

    restored = LightClient.from_dict(json.loads(json.dumps(client.to_dict())))

    assert restored.to_dict() == client.to_dict() and restored.head == client.head
    record = SignedHead.from_wire(json.loads(json.dumps(restored.signed_head())))
    assert record.signed == chain.blocks[3].signed and record.source == "home buyer"
    assert (record.chain_id, record.genesis_hash) == ("test-chain", chain.blocks[0].header.hash)
    with pytest.raises(ValueError, match="not a light client state"):
        LightClient.from_dict({"version": 99})


def test_a_forged_header_hash_is_refused() -> None:
    chain = trade_chain()
    client = LightClient.join(head_answer(chain), "buyer")
    wire = blocks(chain)
    wire[-1]["hash"] = "00" * 32
    verdict = client.check_head(wire)
    assert verdict.status == "unprovable" and "stated hash" in verdict.reason
