"""BLS co-signing: every installed backend gives py-ecc's exact bytes, proofs of possession
guard registration, aggregates verify, batches find a bad signature, finality needs t of n."""

from __future__ import annotations

import pytest
from gridcoop_home.ledger import bls
from gridcoop_home.ledger.block import BlockHeader, SignedHeader, signing_message
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.light_client import check_finality

from hub.ledger.accounts.state import LedgerState
from tests.hub.ledger.factory import ChainBuilder

SECRETS = [
    bls.generate_secret_key(f"validator-{i}-seed-0123456789abcdef".encode()) for i in range(3)
]
MESSAGE = signing_message("ab" * 32)
NATIVE = [name for name in bls.available_backends() if name != "py_ecc"]
REFERENCE = bls.get_backend("py_ecc")


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    """py-ecc's keys, signatures, aggregate and proofs (computed once: py-ecc is slow)."""
    sigs = [REFERENCE.sign(s, MESSAGE) for s in SECRETS]
    return {
        "public": [REFERENCE.secret_to_public(s) for s in SECRETS],
        "sigs": sigs,
        "aggregate": REFERENCE.aggregate(sigs),
        "pop": REFERENCE.prove_possession(SECRETS[0]),
    }


def test_py_ecc_is_always_available_and_auto_picks_the_fastest() -> None:
    assert bls.available_backends()[-1] == "py_ecc"
    assert bls.get_backend("auto").name == bls.available_backends()[0]


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown BLS backend"):
        bls.get_backend("openssl")


def test_the_environment_can_force_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bls.BACKEND_ENV, "py_ecc")
    assert bls.get_backend().name == "py_ecc"


@pytest.mark.parametrize("name", NATIVE)
def test_native_backends_produce_py_eccs_exact_bytes(
    name: str, reference: dict[str, object]
) -> None:
    native = bls.get_backend(name)
    assert [native.secret_to_public(s) for s in SECRETS] == reference["public"]
    assert [native.sign(s, MESSAGE) for s in SECRETS] == reference["sigs"]
    assert native.aggregate(reference["sigs"]) == reference["aggregate"]  # type: ignore[arg-type]
    assert native.prove_possession(SECRETS[0]) == reference["pop"]


@pytest.mark.parametrize("name", bls.available_backends())
def test_backends_agree_on_every_verification(name: str, reference: dict[str, object]) -> None:
    backend = bls.get_backend(name)
    public, sigs, aggregate = reference["public"], reference["sigs"], reference["aggregate"]
    assert backend.verify(public[0], MESSAGE, sigs[0])  # type: ignore[index]
    assert not backend.verify(public[1], MESSAGE, sigs[0])  # type: ignore[index]
    assert backend.fast_aggregate_verify(public, MESSAGE, aggregate)  # type: ignore[arg-type]
    assert not backend.fast_aggregate_verify(public[:2], MESSAGE, aggregate)  # type: ignore[index]
    assert not backend.fast_aggregate_verify(public, MESSAGE + b"x", aggregate)  # type: ignore[arg-type]
    assert backend.verify_possession(public[0], reference["pop"])  # type: ignore[index, arg-type]
    assert not backend.verify_possession(public[1], reference["pop"])  # type: ignore[index, arg-type]
    assert not backend.verify(b"\x00" * 48, MESSAGE, sigs[0])  # type: ignore[index]
    assert not backend.verify(public[0], MESSAGE, b"\xc0" + b"\x00" * 95)  # type: ignore[index]


@pytest.mark.parametrize("name", NATIVE or ["py_ecc"])
def test_batch_verification_accepts_good_sets_and_rejects_one_bad(name: str) -> None:
    backend = bls.get_backend(name)
    public = [backend.secret_to_public(s) for s in SECRETS]
    messages = [signing_message(f"{i:064x}") for i in range(6)]
    sets = [
        (
            public[: 1 + i % 3],
            m,
            backend.aggregate([backend.sign(s, m) for s in SECRETS[: 1 + i % 3]]),
        )
        for i, m in enumerate(messages)
    ]
    assert backend.batch_verify(sets)
    swapped = [*sets[:3], (sets[3][0], sets[3][1], sets[4][2]), *sets[4:]]
    assert not backend.batch_verify(swapped)


def test_a_rogue_key_without_a_valid_proof_of_possession_cannot_become_a_validator() -> None:
    chain = ChainBuilder()
    backend = chain.backend
    victim = backend.secret_to_public(chain.hub_secret)
    # The classic rogue key: a key chosen relative to the victim's; its owner cannot prove
    # possession, so it borrows someone else's proof.
    rogue = backend.secret_to_public(SECRETS[2])
    with pytest.raises(LedgerError, match="proof of possession") as err:
        chain.add(
            {
                "kind": "validator",
                "index": 1,
                "name": "rogue",
                "public_key": rogue.hex(),
                "pop": backend.prove_possession(SECRETS[1]).hex(),
                "home_id": None,
                "active_from": chain.height + 1,
            }
        )
    assert err.value.reason == "bad_proof_of_possession"
    assert victim != rogue
    assert len(chain.state.validators) == 1


def test_a_registered_validator_signs_only_from_the_next_block_on() -> None:
    chain = ChainBuilder(witnesses=1)
    witness = chain.state.validators[1]
    assert witness.active_from == 2
    assert [v.index for v in chain.state.validators_at(1)] == [0]
    assert [v.index for v in chain.state.validators_at(2)] == [0, 1]


def test_the_same_key_cannot_register_twice() -> None:
    chain = ChainBuilder(witnesses=1)
    secret = chain.witness_secrets[0]
    with pytest.raises(LedgerError, match="already registered"):
        chain.add(
            {
                "kind": "validator",
                "index": 2,
                "name": "again",
                "public_key": chain.backend.secret_to_public(secret).hex(),
                "pop": chain.backend.prove_possession(secret).hex(),
                "home_id": None,
                "active_from": chain.height + 1,
            }
        )


def _signed(backend: bls.BlsBackend, signers: list[int]) -> SignedHeader:
    header = BlockHeader(5, "00" * 32, "11" * 32, 0, 0, None)
    message = signing_message(header.hash)
    aggregate = backend.aggregate([backend.sign(SECRETS[i], message) for i in signers])
    return SignedHeader(header, sum(1 << i for i in signers), aggregate)


@pytest.mark.parametrize(
    "signers, final", [([0], False), ([0, 1], True), ([0, 1, 2], True), ([1, 2], True)]
)
def test_a_block_is_final_once_threshold_trusted_validators_signed(
    signers: list[int], final: bool
) -> None:
    backend = bls.get_backend()
    trusted = {i: backend.secret_to_public(s) for i, s in enumerate(SECRETS)}
    assert (
        check_finality(_signed(backend, signers), trusted, threshold=2, backend=backend)[0] is final
    )


def test_finality_refuses_a_bitmap_that_claims_more_signers_than_signed() -> None:
    backend = bls.get_backend()
    trusted = {i: backend.secret_to_public(s) for i, s in enumerate(SECRETS)}
    honest = _signed(backend, [0])
    forged = SignedHeader(honest.header, 0b11, honest.signature)  # claims validator 1 signed too
    final, reason = check_finality(forged, trusted, threshold=2, backend=backend)
    assert not final and "does not verify" in reason


def test_key_text_round_trips_and_rejects_out_of_range_keys() -> None:
    assert bls.secret_key_from_text(bls.secret_key_to_text(SECRETS[0])) == SECRETS[0]
    with pytest.raises(ValueError):
        bls.secret_key_from_text("00" * 32)


def test_the_state_checks_proofs_of_possession_with_its_backend() -> None:
    assert LedgerState(bls.get_backend("py_ecc")).backend.name == "py_ecc"
