"""Home transactions: transfers of flexibility tokens or certificates and retirements of green
certificates, each signed by the home key with a sequence that only goes up."""

from __future__ import annotations

from gridcoop_home.ledger.entries import COMMUNITY, Entry
from gridcoop_home.ledger.transactions import signature_valid
from gridcoop_home.protocol import errors

from hub.ledger.accounts.fields import fail, int_field, str_field
from hub.ledger.accounts.registry import RegistryRules


class HomeTransactionRules(RegistryRules):
    def _signer(self, entry: Entry) -> str:
        home_id, key_id = str_field(entry, "home_id"), str_field(entry, "key_id")
        self._active_home(home_id)
        key = self.keys.get(key_id)
        if key is None or key.home_id != home_id:
            raise fail(errors.KEY_NOT_YOURS, f"key {key_id} is not a key of home {home_id}")
        if key.kind != "home":
            raise fail(errors.WRONG_KEY_KIND, "transactions must be signed with the home key")
        if key.revoked:
            raise fail(errors.REVOKED_KEY, f"key {key_id} is revoked")
        seq, last = int_field(entry, "seq"), self.tx_seq.get(key_id)
        if last is not None and seq <= last:
            raise fail(errors.REPLAY, f"transaction seq {seq} is not above the last one ({last})")
        if not signature_valid(entry, key.public_key):
            raise fail(
                errors.BAD_SIGNATURE, "the home's signature on this transaction does not verify"
            )
        return home_id

    def _transfer(self, entry: Entry, where: str) -> None:
        home_id = self._signer(entry)
        units, to, asset = int_field(entry, "units", 1), str_field(entry, "to"), entry["asset"]
        if to != COMMUNITY:
            self._active_home(to)
        if asset == "flex":
            have = self.flex.get(home_id, 0)
            if have < units:
                raise fail(
                    errors.INSUFFICIENT_TOKENS,
                    f"home {home_id} holds {have} flexibility tokens, not {units}",
                )
            self.flex[home_id] = have - units
            self.flex[to] = self.flex.get(to, 0) + units
        elif asset == "certificate":
            lot = self._held_lot(home_id, str_field(entry, "lot"), units)
            if to == COMMUNITY:
                raise fail(errors.UNKNOWN_ACCOUNT, "certificates go to a home, not the community")
            self.certificates[home_id][lot] -= units
            theirs = self.certificates.setdefault(to, {})
            theirs[lot] = theirs.get(lot, 0) + units
        else:
            raise fail(errors.INVALID_ENTRY, f"unknown asset {asset!r}")
        self.tx_seq[entry["key_id"]] = entry["seq"]

    def _held_lot(self, home_id: str, lot: str, units: int) -> str:
        if lot not in self.lots:
            raise fail(errors.UNKNOWN_CERTIFICATE, f"no certificate lot {lot}")
        held = self.certificates.get(home_id, {}).get(lot, 0)
        if held >= units:
            return lot
        retired_at = self.retired_where.get((home_id, lot))
        if held == 0 and retired_at is not None:
            raise fail(
                errors.ALREADY_RETIRED,
                f"lot {lot}: home {home_id} already retired its certificates ({retired_at})",
            )
        raise fail(
            errors.INSUFFICIENT_TOKENS,
            f"home {home_id} holds {held} units of lot {lot}, not {units}",
        )

    def _retire(self, entry: Entry, where: str) -> None:
        home_id = self._signer(entry)
        units = int_field(entry, "units", 1)
        lot = self._held_lot(home_id, str_field(entry, "lot"), units)
        if not self.lots[lot].green:
            raise fail(
                errors.NOT_GREEN,
                f"lot {lot} comes from a {self.lots[lot].meter_kind} meter: not green",
            )
        self.certificates[home_id][lot] -= units
        self.retired[lot] = self.retired.get(lot, 0) + units
        self.retired_where[(home_id, lot)] = where
        self.tx_seq[entry["key_id"]] = entry["seq"]
