"""What a light client concludes from a check (gridcoop_home.ledger.light_client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridcoop_home.ledger.block import SignedHeader, signer_indexes
from gridcoop_home.ledger.heads import Equivocation, header_from_wire

OK = "ok"
PENDING = "pending"
FORK = "fork"
UNPROVABLE = "unprovable"
VALIDATORS_CHANGED = "validator_set_changed"


def header_wire(signed: SignedHeader | None) -> dict[str, Any] | None:
    return None if signed is None else signed.to_wire()


def header_or_none(data: Any) -> SignedHeader | None:
    return None if data is None else header_from_wire(data)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    reason: str
    known: SignedHeader | None = None  # fork: the header this client had accepted
    found: SignedHeader | None = None  # fork: the hub's conflicting header (None: gone)
    balance_minor: int | None = None  # settlement/balance: the proven balance
    row: Mapping[str, Any] | None = None  # settlement: the home's proven settlement row
    validators: tuple[int, ...] = ()  # validator_set_changed: indexes not trusted here

    @property
    def ok(self) -> bool:
        """Nothing wrong (`ok` or `pending`)."""
        return self.status in (OK, PENDING)

    def equivocation(self, validators: Mapping[int, bytes]) -> Equivocation | None:
        """A fork's two headers as an equivocation proof, when the hub signed both at one
        height and their signatures verify with `validators`."""
        if self.status != FORK or self.known is None or self.found is None:
            return None
        signers = signer_indexes(self.known.signers | self.found.signers)
        proof = Equivocation(
            self.known, self.found, {i: validators[i] for i in signers if i in validators}
        )
        return proof if proof.problem() is None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "known": header_wire(self.known),
            "found": header_wire(self.found),
            "balance_minor": self.balance_minor,
            "row": None if self.row is None else dict(self.row),
            "validators": list(self.validators),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            str(data["status"]),
            str(data["reason"]),
            header_or_none(data.get("known")),
            header_or_none(data.get("found")),
            data.get("balance_minor"),
            data.get("row"),
            tuple(int(i) for i in data.get("validators", ())),
        )


def unprovable(reason: str, balance_minor: int | None = None) -> Verdict:
    return Verdict(UNPROVABLE, reason, balance_minor=balance_minor)


def validator_change(
    pinned: Mapping[int, bytes], listed: Sequence[Mapping[str, Any]] | None
) -> Verdict | None:
    """`validator_set_changed` when the hub's validator list (the head answer's `validators`)
    differs from the keys a client pinned; None when it is the same (or not given)."""
    if listed is None:
        return None
    keys = {int(v["index"]): str(v["public_key"]) for v in listed}
    trusted = {i: key.hex() for i, key in pinned.items()}
    if keys == trusted:
        return None
    new = tuple(sorted(i for i in keys if i not in trusted))
    changed = sorted(i for i in keys if i in trusted and keys[i] != trusted[i])
    gone = sorted(i for i in trusted if i not in keys)
    parts = [f"new validators {list(new)}"] if new else []
    parts += [f"validators {changed} have other keys"] if changed else []
    parts += [f"validators {gone} are no longer listed"] if gone else []
    return Verdict(
        VALIDATORS_CHANGED, "the hub's validator set changed: " + "; ".join(parts), validators=new
    )
