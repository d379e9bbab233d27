"""A witness: follows the hub's chain over the API, re-verifies every block, co-signs it, and
remembers what it signed so that it can never be made to sign a second history.

Run by a neighbour (`python -m hub witness --hub URL --key FILE [--home-key FILE]
[--data-dir DIR]`). For each block it checks the link to the previous block, every entry hash,
the Merkle root, every rule (meter signatures, token rules, settlement arithmetic and balances,
by replaying the entries into its own `LedgerState`) and the aggregate signature the block
already carries. Only then does it sign the block hash with its BLS key.

Its memory (`WitnessStore`, in the data directory) holds every block it checked and every
signature it made; a signature is on disk before it is sent. So:

- a block the hub serves at a height the witness recorded must be the recorded block. When it
  is not, and the hub signed both, the two headers are an equivocation proof: the witness keeps
  it, serves it (`GET /equivocations` on its own HTTP endpoint, see `witness_http`), sends it to
  the hub (`POST /api/v1/ledger/equivocations`) and never co-signs again, restart or not;
- after a restart the witness replays the chain from its memory: blocks it recorded must match
  it (their meter and BLS signatures are not checked again), blocks beyond are checked in full;
- any other failing block stops the witness too (exit status 3 from the command line) and it
  never signs it.

With a home key the witness registers its BLS key (with a proof of possession) for that enrolled
home; it signs from the block after the one that records its registration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gridcoop_home.client.hub import HubClient, HubError, HubUnreachable
from gridcoop_home.client.ledger import LedgerClient
from gridcoop_home.ledger.block import SignedHeader, signer_indexes, signing_message
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.ledger.heads import Equivocation, SignedHead, header_from_wire

from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.chain import ChainBlock, decode_entry, structure_problem
from hub.ledger.service.witness_store import StoreConflict, WitnessStore
from hub.logs import get_logger

_LOGGER = get_logger(__name__)
EQUIVOCATIONS_PATH = "/api/v1/ledger/equivocations"


class WitnessHalted(Exception):
    """The witness will not sign this block or anything after it."""


def _served_block(data: dict[str, Any], height: int) -> ChainBlock:
    """The hub's answer for a block (entries optional); WitnessHalted when it is malformed."""
    try:
        entries = data.get("entries", [])
        return ChainBlock(
            header_from_wire(data["block"]),
            [e["data"].encode() for e in entries],
            [str(e["hash"]) for e in entries],
        )
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise WitnessHalted(f"block {height}: the hub's answer is malformed: {err!r}") from err


class Witness:
    def __init__(
        self,
        client: HubClient,
        secret_key: int,
        store: WitnessStore,
        backend: BlsBackend | None = None,
        name: str = "witness",
        trust_hub_history: bool = False,
    ) -> None:
        self._client = client
        self._ledger = LedgerClient(client)
        self._secret = secret_key
        self._store = store
        self.backend = backend or get_backend()
        self.public_key = self.backend.secret_to_public(secret_key)
        self.name = name
        # Accept blocks that carry this key's signature although this store does not remember
        # signing them (its data directory was lost): see `_maybe_sign`.
        self._trust_hub_history = trust_hub_history
        self.state = LedgerState(self.backend, check_meter_signatures=True)
        self.next_height = 0
        self._prev: SignedHeader | None = None
        self.index: int | None = None
        self.signed: list[int] = []  # heights this run signed
        self.halted: str | None = None
        if store.equivocations():
            self.halted = "it holds an equivocation proof against this hub"

    # -- what the witness shows -----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        chain_id, genesis_hash = self._store.chain()
        return {
            "name": self.name,
            "public_key": self.public_key.hex(),
            "validator": self.index,
            "chain_id": chain_id,
            "genesis_hash": genesis_hash,
            "checked_height": self.next_height - 1 if self.next_height else None,
            "recorded_height": self._store.last_height(),
            "signed_blocks": self._store.signed_count(),
            "halted": self.halted,
            "equivocations": len(self._store.equivocations()),
        }

    def heads(self, limit: int) -> list[SignedHead]:
        """The newest blocks this witness recorded, with the signatures it knows (its own
        included), as signed heads for `python -m hub verify --heads`."""
        return self._store.heads(limit, source=f"witness {self.name}")

    def equivocations(self) -> list[Equivocation]:
        return [proof for proof, _delivered in self._store.equivocations()]

    # -- talking to the hub -------------------------------------------------------------------

    async def register(self) -> None:
        """Register this key for the client's home (a registered key is found, not re-added)."""
        head = await self._ledger.head()
        if self._find_index(head) is not None:
            return
        pop = await asyncio.to_thread(self.backend.prove_possession, self._secret)
        await self._client.signed_request(
            "POST",
            "/api/v1/ledger/validators",
            {"name": self.name, "public_key": self.public_key.hex(), "pop": pop.hex()},
        )
        _LOGGER.info("witness registered", extra={"public_key": self.public_key.hex()[:16]})

    def _find_index(self, head: dict[str, Any]) -> int | None:
        for validator in head["validators"]:
            if validator["public_key"] == self.public_key.hex():
                return int(validator["index"])
        return None

    async def publish(self) -> bool:
        """Send the hub every equivocation proof it has not acknowledged; True once it has
        acknowledged them all."""
        delivered = True
        for proof, done in self._store.equivocations():
            if done:
                continue
            try:
                await self._client.request("POST", EQUIVOCATIONS_PATH, proof.to_wire())
            except HubUnreachable as err:
                _LOGGER.warning("witness cannot reach the hub to report equivocation: %s", err)
                return False
            except HubError as err:
                _LOGGER.warning("the hub refused the equivocation proof: %s", err)
                delivered = False
                continue
            self._store.mark_delivered(proof)
        return delivered

    # -- following the chain ------------------------------------------------------------------

    async def step(self) -> int:
        """Check (and sign, where this witness may) every block not checked yet; returns how
        many. Raises WitnessHalted (after reporting any equivocation) when it must stop."""
        if self.halted is not None:
            raise WitnessHalted(self.halted)
        try:
            return await self._step()
        except WitnessHalted as err:
            self.halted = str(err)
            if self._store.equivocations():
                await self.publish()
            raise
        finally:
            self._store.commit()

    async def _step(self) -> int:
        head = await self._ledger.head()
        await self._check_memory(head)
        done = 0
        while self.next_height <= head["height"]:
            block = _served_block(await self._ledger.block(self.next_height), self.next_height)
            await asyncio.to_thread(self._check, block)
            await self._maybe_sign(block)
            self._prev = block.signed
            self.next_height += 1
            done += 1
        return done

    async def _check_memory(self, head: dict[str, Any]) -> None:
        """Before anything new: the hub still serves the blocks this witness recorded."""
        last = self._store.last_height()
        if last is None:
            return
        if head["height"] < last:
            raise WitnessHalted(
                f"the hub's chain ends at block {head['height']}, below block {last} which "
                "this witness recorded: history was removed"
            )
        if self.next_height > 0:  # running: is the newest block checked still the one served?
            tip = min(last, self.next_height - 1)
            served = _served_block(await self._ledger.block(tip, entries=False), tip).signed
            recorded = self._store.recorded(tip)
            if recorded is not None and recorded.hash != served.header.hash:
                self._equivocation(recorded.header, served)

    def _check(self, block: ChainBlock) -> None:
        """Raise WitnessHalted unless the block is the one recorded at its height (if any) and
        sound in every respect the witness can see; record it."""
        height = block.header.height
        if height != self.next_height:
            raise WitnessHalted(f"expected block {self.next_height}, got {height}")
        recorded = self._store.recorded(height)
        if recorded is not None and recorded.hash != block.header.hash:
            self._equivocation(recorded.header, block.signed)
        problem = structure_problem(block, None if self._prev is None else self._prev.header.hash)
        if problem is not None:
            raise WitnessHalted(f"block {height}: {problem[1]}")
        # A recorded block was checked in full when it was recorded.
        self.state.check_meter_signatures = recorded is None
        self.state.height = height
        for index, raw in enumerate(block.entries):
            try:
                self.state.apply(decode_entry(raw), f"block {height} entry {index}")
            except (LedgerError, ValueError) as err:
                raise WitnessHalted(f"block {height} entry {index}: {err}") from err
        if recorded is None:
            self._check_signature(block.signed)
            try:
                self._store.record(block.signed)
            except StoreConflict as err:  # another witness process shares this memory
                raise WitnessHalted(str(err)) from err
        if height == 0:
            assert self.state.params is not None
            self._store.bind_chain(self.state.params.chain_id, block.header.hash)

    def _check_signature(self, signed: SignedHeader) -> None:
        height = signed.header.height
        indexes = signer_indexes(signed.signers)
        active = self.state.validators_at(height)
        if not indexes or 0 not in indexes or signed.signature is None:
            raise WitnessHalted(f"block {height}: not signed by the hub")
        if any(i >= len(active) for i in indexes):
            raise WitnessHalted(f"block {height}: signed by validators not active at that height")
        if not self.backend.fast_aggregate_verify(
            [active[i].public_key for i in indexes],
            signing_message(signed.header.hash),
            signed.signature,
        ):
            raise WitnessHalted(f"block {height}: the aggregate signature does not verify")

    def _equivocation(self, recorded: SignedHeader, served: SignedHeader) -> None:
        """The hub serves another block at a height this witness recorded: keep the proof when
        the hub signed both, and stop."""
        height = recorded.header.height
        keys = {v.index: v.public_key for v in self.state.validators_at(height)}
        chain_id, genesis_hash = self._store.chain()
        proof = Equivocation(
            recorded,
            served,
            {i: keys[i] for i in signer_indexes(recorded.signers | served.signers) if i in keys},
            chain_id,
            genesis_hash,
            f"witness {self.name} ({self.public_key.hex()[:16]}...)",
        )
        problem = proof.problem(backend=self.backend)
        if problem is not None:
            raise WitnessHalted(
                f"block {height} is not the block this witness recorded "
                f"({recorded.header.hash[:16]}...), and {problem}"
            )
        self._store.add_equivocation(proof)
        raise WitnessHalted(
            f"equivocation: the hub signed two blocks at height {height} "
            f"({recorded.header.hash[:16]}... recorded here, {served.header.hash[:16]}... "
            "served now); this witness will not co-sign again"
        )

    async def _maybe_sign(self, block: ChainBlock) -> None:
        height = block.header.height
        mine = [v for v in self.state.validators if v.public_key == self.public_key]
        if not mine or mine[0].active_from > height:
            return
        self.index = mine[0].index
        recorded = self._store.recorded(height)
        signature = None if recorded is None else recorded.signature
        already = bool(block.signed.signers >> self.index & 1)
        if signature is None and already and not self._trust_hub_history:
            raise WitnessHalted(
                f"block {height} carries this key's signature, but this witness's data "
                "directory has no record of signing it: restore the data directory (or start "
                "with --trust-hub-history to accept the chain as the hub serves it)"
            )
        if signature is None:
            signature = await asyncio.to_thread(
                self.backend.sign, self._secret, signing_message(block.header.hash)
            )
            self._remember_signature(block.signed, signature)
        if already:
            return  # the hub has it already
        await self._client.request(
            "POST",
            f"/api/v1/ledger/blocks/{height}/signatures",
            {"validator": self.index, "signature": signature.hex()},
        )
        self.signed.append(height)

    def _remember_signature(self, signed: SignedHeader, signature: bytes) -> None:
        """On disk before the signature leaves this process: the store refuses a second block
        at this height from now on."""
        assert self.index is not None and signed.signature is not None
        bit = 1 << self.index
        head = (
            signed
            if signed.signers & bit
            else SignedHeader(
                signed.header,
                signed.signers | bit,
                self.backend.aggregate([signed.signature, signature]),
            )
        )
        try:
            self._store.record(signed, self.index, signature, head)
        except StoreConflict as err:
            raise WitnessHalted(str(err)) from err
        self._store.commit()

    async def run(self, poll_seconds: float = 2.0, register: bool = False) -> None:
        """Register if asked, then follow the chain until it must stop (WitnessHalted)."""
        while register:
            try:
                await self.register()
                break
            except (HubError, HubUnreachable) as err:
                _LOGGER.warning("witness cannot register yet: %s", err)
                await asyncio.sleep(poll_seconds)
        while True:
            try:
                if await self.step():
                    _LOGGER.info("witness verified up to block %d", self.next_height - 1)
            except (HubError, HubUnreachable) as err:
                _LOGGER.warning("witness: hub unreachable or refused: %s", err)
            await asyncio.sleep(poll_seconds)

    async def keep_publishing(self, poll_seconds: float = 2.0, longest: float = 600.0) -> None:
        """After an equivocation: keep offering the proofs until the hub acknowledges them all,
        waiting longer after each refusal (the witness's own endpoint serves them meanwhile)."""
        wait = poll_seconds
        while not await self.publish():
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)
