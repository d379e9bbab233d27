"""Async client for the hub's token ledger, for a home (Home Assistant, scripts, tests).

It composes a `gridcoop_home.client.hub.HubClient` (which owns the injected aiohttp session) and
sends every
request through it, so signed requests share the HubClient's sequence counter and lock: the hub
wants strictly increasing request sequences per key, and a second counter for the same key would
race it. Transfers and retirements are ledger entries signed with the home key
(`gridcoop_home.ledger.transactions`), with their own strictly increasing transaction sequence.

A hub without a ledger answers 404 on every ledger path (`ledger_disabled`, or `not_found` for a
route it does not serve): that becomes `LedgerDisabled`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gridcoop_home.client.errors import HubError, LedgerDisabled
from gridcoop_home.client.hub import HubClient
from gridcoop_home.ledger.entries import COMMUNITY, Entry
from gridcoop_home.ledger.transactions import MAX_PURPOSE, build_retirement, build_transfer
from gridcoop_home.protocol.envelope import SequenceCounter, now_ms
from gridcoop_home.protocol.keys import SigningKey

# Reasons a 404 on a ledger path means "this hub keeps no ledger".
LEDGER_MISSING = frozenset({"ledger_disabled", "not_found"})
FLEX = "flex"
CERTIFICATE = "certificate"


class NotEnoughCertificates(Exception):
    """The home holds fewer (green) certificates than asked for; nothing was sent."""

    def __init__(self, have: int, need: int) -> None:
        super().__init__(f"the home holds {have} certificates, {need} are needed")
        self.have = have
        self.need = need


@dataclass(frozen=True, slots=True)
class Submitted:
    """One accepted home transaction: pending until the hub seals the next block."""

    entry_hash: str
    entry: Entry
    lot: str | None
    units: int


class TransactionsIncomplete(Exception):
    """A multi-lot operation stopped part way: `done` went through, `cause` refused the rest."""

    def __init__(self, done: list[Submitted], cause: HubError) -> None:
        super().__init__(f"{len(done)} transactions went through, then: {cause}")
        self.done = done
        self.cause = cause


def _lot_order(lot: str) -> tuple[int, str]:
    """Lots are `<interval start>:<meter key>`: oldest first, then by key."""
    start, _, key = lot.partition(":")
    return (int(start), key) if start.isdigit() else (0, lot)


@dataclass(frozen=True, slots=True)
class Account:
    """A home's balances as the ledger holds them (pending transactions included)."""

    home_id: str
    balance_mminor: int = 0
    balance_minor: int = 0
    flex_tokens: int = 0
    utility_tokens: int = 0
    tokens_minted: int = 0
    tokens_burned: int = 0
    green_certificates: int = 0
    other_certificates: int = 0
    certificate_lots: Mapping[str, int] = field(default_factory=dict)
    # Which held lots are green, when the hub says so (`green_lots`); otherwise unknown.
    green_lots: Mapping[str, int] | None = None
    recorded: bool = True  # False: the hub has not recorded the home's enrolment in a block yet

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Account:
        green = data.get("green_lots")
        return cls(
            home_id=str(data["home_id"]),
            balance_mminor=int(data.get("balance_mminor", 0)),
            balance_minor=int(data.get("balance_minor", 0)),
            flex_tokens=int(data.get("flex_tokens", 0)),
            utility_tokens=int(data.get("utility_tokens", 0)),
            tokens_minted=int(data.get("tokens_minted", 0)),
            tokens_burned=int(data.get("tokens_burned", 0)),
            green_certificates=int(data.get("green_certificates", 0)),
            other_certificates=int(data.get("other_certificates", 0)),
            certificate_lots={
                str(lot): int(units)
                for lot, units in dict(data.get("certificate_lots", {})).items()
            },
            green_lots=None
            if green is None
            else {str(lot): int(units) for lot, units in dict(green).items()},
        )

    def lots_oldest_first(self, green_only: bool = False) -> list[tuple[str, int]]:
        lots = (
            self.green_lots if green_only and self.green_lots is not None else self.certificate_lots
        )
        return sorted(
            ((lot, units) for lot, units in lots.items() if units > 0),
            key=lambda item: _lot_order(item[0]),
        )


def certificates_for(energy_wh: float, token_unit_wh: int) -> int:
    """How many certificates (one per `token_unit_wh`) cover `energy_wh`, rounded up."""
    if token_unit_wh <= 0:
        raise ValueError("token_unit_wh must be positive")
    return max(0, math.ceil(round(energy_wh, 6) / token_unit_wh))


class LedgerClient:
    def __init__(
        self, hub: HubClient, home_id: str | None = None, home_key: SigningKey | None = None
    ) -> None:
        self._hub = hub
        self._home_id = home_id
        self._home_key = home_key
        self._tx_counter = SequenceCounter()

    @property
    def hub(self) -> HubClient:
        return self._hub

    # -- public reads --------------------------------------------------------------------------

    async def head(self) -> dict[str, Any]:
        """Chain head, final height, threshold, token unit (Wh) and validators."""
        return await self._get("/api/v1/ledger/head")

    async def home_account(self, home_id: str | None = None) -> dict[str, Any]:
        """The raw answer: `account` and the latest final `settlement` with its proof."""
        return await self._get(f"/api/v1/ledger/homes/{home_id or self._require_home_id()}")

    async def account(self, home_id: str | None = None) -> Account:
        """Balances; an all-zero, `recorded=False` account while the hub has not recorded the
        home's enrolment in a block yet."""
        home = home_id or self._require_home_id()
        try:
            answer = await self.home_account(home)
        except HubError as err:  # LedgerDisabled included: its reason is never unknown_account
            if err.reason == "unknown_account":
                return Account(home_id=home, recorded=False)
            raise
        return Account.from_wire(answer["account"])

    async def blocks(self, start: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        data = await self._get("/api/v1/ledger/blocks", {"from": start, "limit": limit})
        return list(data["blocks"])

    async def block(self, height: int, entries: bool = True) -> dict[str, Any]:
        return await self._get(
            f"/api/v1/ledger/blocks/{height}", None if entries else {"entries": 0}
        )

    async def entry(self, entry_hash: str) -> dict[str, Any]:
        """An entry with its inclusion proof (check it with `gridcoop_home.ledger.light_client`).

        An unknown hash is a `HubError` 404 `not_found` (not `LedgerDisabled`).
        """
        return await self._get(f"/api/v1/ledger/entries/{entry_hash}", missing_is_disabled=False)

    async def retirements(self, limit: int = 100) -> list[dict[str, Any]]:
        data = await self._get("/api/v1/ledger/retirements", {"limit": limit})
        return list(data["retirements"])

    # -- signed --------------------------------------------------------------------------------

    async def statement(self, month: str) -> dict[str, Any]:
        """The home's monthly statement (`YYYY-MM`), JSON."""
        return await self._get(f"/api/v1/ledger/statements/{month}", signed=True)

    async def submit(self, entry: Entry) -> dict[str, Any]:
        """Send one signed transaction; the answer is `{status: pending, entry_hash, entry}`."""
        return await self._call(
            self._hub.signed_request, "POST", "/api/v1/ledger/transactions", entry
        )

    async def transfer_flex(self, units: int, to: str = COMMUNITY, memo: str = "") -> Submitted:
        """Spend flexibility tokens: to the community account (its services) or another home."""
        entry = build_transfer(
            self._require_key(),
            self._require_home_id(),
            asset=FLEX,
            units=units,
            to=to,
            memo=memo[:MAX_PURPOSE],
            seq=self._tx_counter.next(),
            ts=now_ms(),
        )
        return self._submitted(await self.submit(entry), None, units)

    async def transfer_certificates(self, units: int, to: str, memo: str = "") -> list[Submitted]:
        """Give `units` certificates to another home, oldest lots first (one entry per lot)."""
        account = await self.account()
        have = account.green_certificates + account.other_certificates
        if have < units:
            raise NotEnoughCertificates(have, units)

        def build(lot: str, take: int) -> Entry:
            return build_transfer(
                self._require_key(),
                self._require_home_id(),
                asset=CERTIFICATE,
                units=take,
                to=to,
                lot=lot,
                memo=memo[:MAX_PURPOSE],
                seq=self._tx_counter.next(),
                ts=now_ms(),
            )

        return await self._spend_lots(account.lots_oldest_first(), units, build, skip=frozenset())

    async def retire_green(self, units: int, purpose: str) -> list[Submitted]:
        """Retire `units` green certificates for `purpose` (final and public), oldest first.

        Refuses up front (`NotEnoughCertificates`) when the home holds too few green ones. When
        the hub does not say which lots are green, a lot it calls `not_green` is skipped.
        """
        account = await self.account()
        if account.green_certificates < units:
            raise NotEnoughCertificates(account.green_certificates, units)
        purpose = purpose[:MAX_PURPOSE]

        def build(lot: str, take: int) -> Entry:
            return build_retirement(
                self._require_key(),
                self._require_home_id(),
                lot=lot,
                units=take,
                purpose=purpose,
                seq=self._tx_counter.next(),
                ts=now_ms(),
            )

        skip = frozenset() if account.green_lots is not None else frozenset({"not_green"})
        return await self._spend_lots(
            account.lots_oldest_first(green_only=True), units, build, skip
        )

    async def _spend_lots(
        self,
        lots: list[tuple[str, int]],
        units: int,
        build: Callable[[str, int], Entry],
        skip: frozenset[str],
    ) -> list[Submitted]:
        done: list[Submitted] = []
        left = units
        for lot, held in lots:
            if left <= 0:
                break
            take = min(held, left)
            try:
                answer = await self.submit(build(lot, take))
            except HubError as err:
                if err.reason in skip:
                    continue
                if done:
                    raise TransactionsIncomplete(done, err) from err
                raise
            done.append(self._submitted(answer, lot, take))
            left -= take
        if left > 0:
            have = units - left
            if done:
                raise TransactionsIncomplete(
                    done, HubError(409, "insufficient_tokens", f"only {have} of {units} units")
                )
            raise NotEnoughCertificates(have, units)
        return done

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _submitted(answer: Mapping[str, Any], lot: str | None, units: int) -> Submitted:
        return Submitted(str(answer["entry_hash"]), dict(answer.get("entry", {})), lot, units)

    def _require_key(self) -> SigningKey:
        if self._home_key is None:
            raise ValueError("this ledger client has no home key")
        return self._home_key

    def _require_home_id(self) -> str:
        if self._home_id is None:
            raise ValueError("this ledger client has no home id")
        return self._home_id

    async def _get(
        self,
        path: str,
        query: Mapping[str, int] | None = None,
        *,
        signed: bool = False,
        missing_is_disabled: bool = True,
    ) -> dict[str, Any]:
        send = self._hub.signed_request if signed else self._hub.request
        return await self._call(send, "GET", path, None, query, missing_is_disabled)

    @staticmethod
    async def _call(
        send: Callable[..., Awaitable[dict[str, Any]]],
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, int] | None = None,
        missing_is_disabled: bool = True,
    ) -> dict[str, Any]:
        try:
            return await send(method, path, body=body, query=query)
        except HubError as err:
            if missing_is_disabled and err.status == 404 and err.reason in LEDGER_MISSING:
                raise LedgerDisabled(err.status, err.reason, err.detail) from err
            raise
