"""A witness: follows the hub's chain over the API, re-verifies every block and co-signs it.

Run by a neighbour (`python -m hub witness --hub URL --key FILE [--home-key FILE]`). It keeps its
own `LedgerState` from genesis on and, for each block, checks the link to the previous block, every
entry hash, the Merkle root, every rule (meter signatures, token rules, settlement arithmetic and
balances) and the aggregate signature the block already carries. Only then does it sign the block
hash with its BLS key. A block that fails stops the witness for good: it never signs past it and
reports the reason (exit status 3 from the command line).

With `--home-key`, the witness registers its BLS key (with a proof of possession) on behalf of
that enrolled home; it signs from the block after the one that records its registration.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from gridcoop_home.ledger.block import SignedHeader, signing_message
from gridcoop_home.ledger.bls import BlsBackend, get_backend
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol.envelope import SequenceCounter, now_ms
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.requests import sign_request

from hub.ledger.accounts.state import LedgerState
from hub.ledger.chain.chain import ChainBlock, decode_entry, structure_problem
from hub.logs import get_logger

_LOGGER = get_logger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=60)


class WitnessHalted(Exception):
    """A block failed verification: the witness will not sign it or anything after it."""


class Witness:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        hub_url: str,
        secret_key: int,
        backend: BlsBackend | None = None,
        home_key: SigningKey | None = None,
        name: str = "witness",
    ) -> None:
        self._session = session
        self._base = hub_url.rstrip("/")
        self._secret = secret_key
        self.backend = backend or get_backend()
        self.public_key = self.backend.secret_to_public(secret_key)
        self._home_key = home_key
        self._name = name
        self._counter = SequenceCounter()
        self.state = LedgerState(self.backend, check_meter_signatures=True)
        self.next_height = 0
        self._prev_hash: str | None = None
        self.index: int | None = None
        self.signed: list[int] = []

    async def _get(self, path: str) -> Any:
        async with self._session.get(self._base + path, timeout=TIMEOUT) as response:
            data = await response.json()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status} {data}")
            return data

    async def _post(self, path: str, body: dict[str, Any], signed: bool = False) -> Any:
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            assert self._home_key is not None
            headers |= sign_request(
                self._home_key, "POST", path, payload, self._counter.next(), now_ms()
            )
        async with self._session.post(
            self._base + path, data=payload, headers=headers, timeout=TIMEOUT
        ) as response:
            data = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"POST {path}: {response.status} {data}")
            return data

    async def register(self) -> None:
        """Register this key for the home (idempotent: a registered key is found, not re-added)."""
        head = await self._get("/api/v1/ledger/head")
        if self._find_index(head) is not None or self._home_key is None:
            return
        pop = await asyncio.to_thread(self.backend.prove_possession, self._secret)
        await self._post(
            "/api/v1/ledger/validators",
            {"name": self._name, "public_key": self.public_key.hex(), "pop": pop.hex()},
            signed=True,
        )
        _LOGGER.info("witness registered", extra={"public_key": self.public_key.hex()[:16]})

    def _find_index(self, head: dict[str, Any]) -> int | None:
        for validator in head["validators"]:
            if validator["public_key"] == self.public_key.hex():
                return int(validator["index"])
        return None

    async def step(self) -> int:
        """Verify (and sign, where this witness may) every block not seen yet; returns how many."""
        head = await self._get("/api/v1/ledger/head")
        done = 0
        while self.next_height <= head["height"]:
            data = await self._get(f"/api/v1/ledger/blocks/{self.next_height}?entries=1")
            block = ChainBlock(
                SignedHeader.from_wire(data["block"]),
                [e["data"].encode() for e in data["entries"]],
                [e["hash"] for e in data["entries"]],
            )
            await asyncio.to_thread(self.verify, block)
            await self._maybe_sign(block)
            self._prev_hash = block.header.hash
            self.next_height += 1
            done += 1
        return done

    def verify(self, block: ChainBlock) -> None:
        """Raise WitnessHalted unless the block is sound in every respect the witness can see."""
        height = block.header.height
        if height != self.next_height:
            raise WitnessHalted(f"expected block {self.next_height}, got {height}")
        problem = structure_problem(block, self._prev_hash)
        if problem is not None:
            raise WitnessHalted(f"block {height}: {problem[1]}")
        self.state.height = height
        for index, raw in enumerate(block.entries):
            try:
                self.state.apply(decode_entry(raw), f"block {height} entry {index}")
            except (LedgerError, ValueError) as err:
                raise WitnessHalted(f"block {height} entry {index}: {err}") from err
        signed = block.signed
        active = self.state.validators_at(height)
        indexes = [i for i in range(signed.signers.bit_length()) if signed.signers >> i & 1]
        if not indexes or 0 not in indexes or signed.signature is None:
            raise WitnessHalted(f"block {height}: not signed by the hub")
        if any(i >= len(active) for i in indexes):
            raise WitnessHalted(f"block {height}: signed by validators not active at that height")
        if not self.backend.fast_aggregate_verify(
            [active[i].public_key for i in indexes],
            signing_message(block.header.hash),
            signed.signature,
        ):
            raise WitnessHalted(f"block {height}: the aggregate signature does not verify")

    async def _maybe_sign(self, block: ChainBlock) -> None:
        height = block.header.height
        mine = [v for v in self.state.validators if v.public_key == self.public_key]
        if not mine or mine[0].active_from > height:
            return
        self.index = mine[0].index
        if block.signed.signers >> self.index & 1:
            return
        signature = await asyncio.to_thread(
            self.backend.sign, self._secret, signing_message(block.header.hash)
        )
        await self._post(
            f"/api/v1/ledger/blocks/{height}/signatures",
            {"validator": self.index, "signature": signature.hex()},
        )
        self.signed.append(height)

    async def run(self, poll_seconds: float = 2.0) -> None:
        """Register if asked, then follow the chain until a block fails (WitnessHalted)."""
        while True:
            try:
                await self.register()
                break
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as err:
                _LOGGER.warning("witness cannot register yet: %s", err)
                await asyncio.sleep(poll_seconds)
        while True:
            try:
                if await self.step():
                    _LOGGER.info("witness verified up to block %d", self.next_height - 1)
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as err:
                _LOGGER.warning("witness: hub unreachable or refused: %s", err)
            await asyncio.sleep(poll_seconds)
