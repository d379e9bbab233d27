"""A light client a home runs: it follows the hub's chain without trusting the hub.

Pure and HA-free: it never talks to the hub itself. The caller fetches the hub's answers (for
instance with `gridcoop_home.client.ledger.LedgerClient`) and hands them in; each check returns
a `Verdict` and may advance what the client keeps. The client is serialisable (`to_dict`,
`from_dict`) so a home keeps it across restarts.

What it keeps: the chain id and threshold, the validator keys it trusts (pinned at join time,
each with its proof of possession checked) and the latest final head it has seen.

    client = LightClient.join(await ledger.head(), home_id)          # once, when the home joins
    # then, every few minutes:
    verdict = client.check_head(await ledger.blocks(*client.blocks_from()),
                                (await ledger.head())["validators"])
    answer = await ledger.home_account()
    verdict = client.check_balance(answer, await ledger.blocks(*client.blocks_from(
        LightClient.proof_height(answer))))
    store(client.to_dict())

- `check_head(blocks, validators)`: `blocks` are the hub's headers from the known head's height
  on (`blocks_from()`). The known head must still be there with the same hash, and every later
  block must extend it; otherwise the verdict is `fork`, with the header this client had
  accepted (`known`) and the hub's conflicting one (`found`; None when the hub no longer has
  that height). The newest block whose aggregate signature verifies with at least `threshold`
  trusted validators becomes the head. Signers this client does not trust, or a validator list
  that differs from the pinned one, give `validator_set_changed` (accept new validators with
  `trust`, which checks their proofs of possession).
- `check_settlement(proof, blocks)`: the hub's inclusion proof of an entry holding the home's
  settlement row (`GET /api/v1/ledger/entries/{hash}`): the Merkle proof leads to the block's
  root, and the block is on the chain that ends at the known final head (its hash linked through
  `blocks`, so the head's validator signatures cover it) or, above the head, becomes final itself.
- `check_balance(answer, blocks)`: the home's balance (`GET /api/v1/ledger/homes/{home_id}`):
  its settlement proof checks as above and proves the balance the hub reports; `pending` while
  the newest settlement is in a block that is not final yet, `unprovable` (with the reason)
  otherwise.
- `signed_head()`: the known head as a signed-head record (gridcoop_home.ledger.heads) for
  `python -m hub verify --heads`.

Verdict statuses: `ok`, `pending` (nothing wrong, not final yet), `fork`, `unprovable`,
`validator_set_changed`. A `fork` whose two headers both carry the hub's signature also yields an
equivocation proof (`Verdict.equivocation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.ledger.block import SignedHeader, signer_indexes
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.heads import HUB, SignedHead, header_from_wire, signature_problem
from gridcoop_home.ledger.proofs import (
    ProofCheck,
    check_entry_proof,
    check_finality,
    check_inclusion,
)
from gridcoop_home.ledger.verdicts import (
    FORK,
    OK,
    PENDING,
    UNPROVABLE,
    VALIDATORS_CHANGED,
    Verdict,
    header_or_none,
    header_wire,
    unprovable,
    validator_change,
)

__all__ = [
    "FORK",
    "OK",
    "PENDING",
    "UNPROVABLE",
    "VALIDATORS_CHANGED",
    "LightClient",
    "ProofCheck",
    "Verdict",
    "check_entry_proof",
    "check_finality",
    "check_inclusion",
]

STATE_VERSION = 1
MAX_BLOCKS = 1000  # one GET /api/v1/ledger/blocks


@dataclass
class LightClient:
    home_id: str
    chain_id: str
    threshold: int
    validators: dict[int, bytes]  # pinned: index -> BLS public key
    names: dict[int, str] = field(default_factory=dict)
    head: SignedHeader | None = None  # the latest final head seen
    genesis_hash: str | None = None
    backend: BlsBackend = field(default_factory=get_backend, repr=False, compare=False)

    # -- joining and trusting ---------------------------------------------------------------------

    @classmethod
    def join(
        cls,
        head_answer: Mapping[str, Any],
        home_id: str,
        genesis_hash: str | None = None,
        backend: BlsBackend | None = None,
    ) -> LightClient:
        """Pin the chain id, threshold and validators of the hub's `GET /api/v1/ledger/head`
        answer. ValueError when a validator's proof of possession does not verify."""
        client = cls(
            home_id,
            str(head_answer["chain_id"]),
            int(head_answer["threshold"]),
            {},
            genesis_hash=genesis_hash,
            backend=backend or get_backend(),
        )
        client.trust(head_answer["validators"])
        if HUB not in client.validators:
            raise ValueError("the hub's validator list has no hub (validator 0)")
        return client

    def trust(self, validators: Sequence[Mapping[str, Any]]) -> list[int]:
        """Trust the validators listed (items of the head answer's `validators`) that are not
        trusted yet, each after checking its proof of possession; returns their indexes.
        ValueError (trusting none of them) when a proof does not verify or an index already
        trusted comes with another key."""
        new: dict[int, tuple[str, bytes]] = {}
        for item in validators:
            index, key = int(item["index"]), bytes.fromhex(str(item["public_key"]))
            if index in self.validators:
                if self.validators[index] != key:
                    raise ValueError(f"validator {index} is trusted with another key")
                continue
            if not self.backend.verify_possession(key, bytes.fromhex(str(item["pop"]))):
                raise ValueError(f"validator {index}: the proof of possession does not verify")
            new[index] = (str(item.get("name", "")), key)
        for index, (name, key) in new.items():
            self.validators[index] = key
            self.names[index] = name
        return sorted(new)

    # -- what to ask the hub ----------------------------------------------------------------------

    def blocks_from(self, height: int | None = None) -> tuple[int, int]:
        """(from, limit) of the `GET /api/v1/ledger/blocks` that `check_head` (no height) or a
        check of a proof in block `height` needs: from the lower of that block and the known
        head. A proof more than `MAX_BLOCKS` below the head needs the pages joined."""
        known = self.head.header.height if self.head is not None else None
        return min((h for h in (known, height) if h is not None), default=0), MAX_BLOCKS

    @staticmethod
    def proof_height(answer: Mapping[str, Any]) -> int | None:
        """The block of a home answer's settlement proof (None: no proof)."""
        proof = answer.get("settlement")
        height = None if not isinstance(proof, Mapping) else proof.get("height")
        return height if isinstance(height, int) else None

    # -- checks -----------------------------------------------------------------------------------

    def check_head(
        self,
        blocks: Sequence[Mapping[str, Any]],
        validators: Sequence[Mapping[str, Any]] | None = None,
    ) -> Verdict:
        """Follow the hub's headers from the known head on; advance to the newest final one."""
        run = self._run(blocks)
        if isinstance(run, Verdict):
            return run
        if self.head is not None:
            found = self._against_head(run)
            if found is not None:
                return found
        top = -1 if self.head is None else self.head.header.height
        for height in sorted(run, reverse=True):
            if height <= top:
                break
            signed = run[height]
            if signed.signer_count < self.threshold:
                continue
            untrusted = tuple(i for i in signer_indexes(signed.signers) if i not in self.validators)
            if untrusted:
                return Verdict(
                    VALIDATORS_CHANGED,
                    f"block {height} is signed by validators {list(untrusted)} this home does "
                    "not trust yet",
                    validators=untrusted,
                )
            problem = signature_problem(signed, self.validators, self.backend)
            if problem is not None:
                return unprovable(f"block {height} has {signed.signer_count} signers but {problem}")
            self.head = signed
            if 0 in run and self.genesis_hash is None:  # linked back to genesis by prev hashes
                self.genesis_hash = run[0].header.hash
            return validator_change(self.validators, validators) or Verdict(
                OK, f"the final head is block {height}"
            )
        return validator_change(self.validators, validators) or Verdict(
            OK if self.head is not None else PENDING,
            "no newer final block" if self.head is not None else "no final block yet",
        )

    def check_settlement(
        self, proof: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]]
    ) -> Verdict:
        """The home's settlement row in a proven entry (`ok` carries `row` and
        `balance_minor`)."""
        try:
            signed = header_from_wire(proof["block"])
            entry = dict(proof["entry"])
            included = check_inclusion(
                entry, int(proof["index"]), [str(p) for p in proof["proof"]], signed
            )
        except (KeyError, TypeError, ValueError) as err:
            return unprovable(f"the settlement proof is malformed: {err!r}")
        height = signed.header.height
        if not included:
            return unprovable(f"the inclusion proof does not lead to block {height}'s root")
        row = ProofCheck(True, "", entry, height).settlement_of(self.home_id)
        balance = None if row is None else row.get("balance_minor")
        if row is None or type(balance) is not int:
            return unprovable(f"the proven entry holds no settlement of home {self.home_id}")
        anchored = self._anchor(signed, blocks)
        if anchored is not None:
            return anchored
        return Verdict(
            OK,
            f"the settlement of interval {row.get('interval_start')} is in block {height}, "
            "on the chain this home follows",
            balance_minor=balance,
            row=row,
        )

    def check_balance(
        self, answer: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]]
    ) -> Verdict:
        """The balance the hub reports (`GET /api/v1/ledger/homes/{home_id}`) against the
        home's latest settlement the hub can prove."""
        try:
            claimed = int(answer["account"]["balance_minor"])
        except (KeyError, TypeError, ValueError) as err:
            return unprovable(f"the hub's answer has no balance: {err!r}")
        settled_height = answer.get("settled_height")
        known = -1 if self.head is None else self.head.header.height
        proof = answer.get("settlement")
        if not isinstance(proof, Mapping):
            if settled_height is None:
                if claimed == 0:
                    return Verdict(OK, "nothing settled yet", balance_minor=0)
                return unprovable(f"the hub reports a balance of {claimed} and no settlement")
            return self._not_final_yet(settled_height, known, claimed, None, None)
        verdict = self.check_settlement(proof, blocks)
        if not verdict.ok:
            return verdict
        proven, proven_height = verdict.balance_minor, int(proof["block"]["height"])
        if isinstance(settled_height, int) and settled_height > proven_height:
            return self._not_final_yet(settled_height, known, claimed, proven, proven_height)
        if proven != claimed:
            return unprovable(
                f"the hub reports a balance of {claimed}; the home's latest settlement it can "
                f"prove (block {proven_height}) says {proven}",
                proven,
            )
        return Verdict(
            OK, f"balance {claimed} proven in block {proven_height}", balance_minor=proven
        )

    def _not_final_yet(
        self,
        settled_height: Any,
        known: int,
        claimed: int,
        proven: int | None,
        proven_height: int | None,
    ) -> Verdict:
        if not isinstance(settled_height, int) or settled_height <= known:
            proves = "no settlement" if proven_height is None else f"only block {proven_height}"
            return unprovable(
                f"the hub's balance {claimed} is as of block {settled_height}, which is final "
                f"here, yet it proves {proves}",
                proven,
            )
        return Verdict(
            PENDING,
            f"the hub's balance {claimed} includes block {settled_height}, not final yet"
            + ("" if proven is None else f"; proven: {proven} in block {proven_height}"),
            balance_minor=proven,
        )

    def signed_head(self) -> dict[str, Any] | None:
        """The known final head as a record for `python -m hub verify --heads`."""
        if self.head is None:
            return None
        return SignedHead(
            self.head, self.chain_id, self.genesis_hash, f"home {self.home_id}"
        ).to_wire()

    # -- serialising ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "home_id": self.home_id,
            "chain_id": self.chain_id,
            "threshold": self.threshold,
            "validators": [
                {"index": i, "name": self.names.get(i, ""), "public_key": key.hex()}
                for i, key in sorted(self.validators.items())
            ],
            "head": header_wire(self.head),
            "genesis_hash": self.genesis_hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], backend: BlsBackend | None = None) -> LightClient:
        """ValueError when `data` is not a state `to_dict` wrote."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"not a light client state of version {STATE_VERSION}")
        try:
            return cls(
                str(data["home_id"]),
                str(data["chain_id"]),
                int(data["threshold"]),
                {int(v["index"]): bytes.fromhex(v["public_key"]) for v in data["validators"]},
                {int(v["index"]): str(v["name"]) for v in data["validators"]},
                header_or_none(data.get("head")),
                data.get("genesis_hash"),
                backend or get_backend(),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed light client state: {err!r}") from err

    # -- the chain between what the client knows and what the hub serves ---------------------

    def _run(self, blocks: Sequence[Mapping[str, Any]]) -> dict[int, SignedHeader] | Verdict:
        """The hub's headers by height: consecutive, each linked to the one before."""
        run: dict[int, SignedHeader] = {}
        previous: SignedHeader | None = None
        for item in blocks:
            try:
                signed = header_from_wire(item)
            except ValueError as err:
                return unprovable(f"the hub's block list is malformed: {err}")
            if previous is not None:
                height, before = signed.header.height, previous.header.height
                if height != before + 1:
                    return unprovable(f"the hub's block list skips from {before} to {height}")
                if signed.header.prev_hash != previous.header.hash:
                    return self._break(previous, signed)
            run[signed.header.height] = signed
            previous = signed
        return run

    def _break(self, previous: SignedHeader, signed: SignedHeader) -> Verdict:
        """Block h+1 does not extend block h in the hub's own list."""
        height = previous.header.height
        if self.head is not None and self.head.header.height == height:
            return self._fork(
                self.head, signed, f"block {height + 1} does not extend block {height}"
            )
        return unprovable(f"the hub's blocks {height} and {height + 1} do not link")

    def _against_head(self, run: Mapping[int, SignedHeader]) -> Verdict | None:
        """A fork when the hub's headers disagree with the known head."""
        assert self.head is not None
        height = self.head.header.height
        if not run:
            return self._fork(
                self.head, None, f"the hub no longer serves block {height}: history was cut"
            )
        if height not in run:
            if min(run) > height:
                return unprovable(f"the blocks given start above the known head {height}")
            return self._fork(
                self.head, None, f"the hub's chain ends at block {max(run)}, below {height}"
            )
        if run[height].header.hash != self.head.header.hash:
            return self._fork(self.head, run[height], f"block {height} has another hash now")
        return None

    def _anchor(self, signed: SignedHeader, blocks: Sequence[Mapping[str, Any]]) -> Verdict | None:
        """None when `signed` is on the chain that ends at the known final head (or becomes
        final itself above it); the verdict otherwise."""
        height = signed.header.height
        if self.head is None or height > self.head.header.height:
            verdict = self.check_head(blocks)
            if not verdict.ok:
                return verdict
        if self.head is None or height > self.head.header.height:
            return Verdict(PENDING, f"block {height} is not final for this home yet")
        if height == self.head.header.height:
            if signed.header.hash != self.head.header.hash:
                return self._fork(self.head, signed, f"the proof's block {height} is another")
            return None
        run = self._run(blocks)
        if isinstance(run, Verdict):
            return run
        found = self._against_head(run)
        if found is not None:
            return found
        if height not in run:
            return unprovable(
                f"block {height} cannot be linked to the final head: the blocks given start "
                f"at {min(run)}"
            )
        if run[height].header.hash != signed.header.hash:
            return self._fork(run[height], signed, f"the hub serves two blocks {height}")
        return None

    def _fork(self, known: SignedHeader, found: SignedHeader | None, reason: str) -> Verdict:
        return Verdict(FORK, f"fork: {reason}", known=known, found=found)
