"""Who is in the ledger: the genesis, validators (with their proofs of possession), homes and
their keys, enrolments and revocations."""

from __future__ import annotations

from gridcoop_home.ledger.entries import Entry
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.keys import key_id_of

from hub.ledger.accounts.fields import fail, int_field, str_field
from hub.ledger.accounts.params import METER_KINDS, LedgerParams
from hub.ledger.accounts.records import HomeInfo, KeyInfo, StateData, Validator

KEY_KINDS = ("home", *METER_KINDS)


class RegistryRules(StateData):
    def _genesis(self, entry: Entry, where: str) -> None:
        if self.params is not None or self.height != 0:
            raise fail(errors.INVALID_ENTRY, "a second genesis entry")
        params = LedgerParams.from_wire(entry["params"])
        validator = self._new_validator(entry["validator"], 0, None)
        self.params = params
        self.validators.append(validator)

    def _validator(self, entry: Entry, where: str) -> None:
        index = int_field(entry, "index")
        if index != len(self.validators):
            raise fail(
                errors.INVALID_ENTRY, f"validator index {index}, expected {len(self.validators)}"
            )
        home_id = entry["home_id"]
        if home_id is not None:
            self._active_home(home_id)
            if any(v.home_id == home_id for v in self.validators):
                raise fail(errors.DUPLICATE_VALIDATOR, f"home {home_id} already has a witness")
        active_from = int_field(entry, "active_from")
        if active_from != self.height + 1:
            raise fail(
                errors.INVALID_ENTRY,
                f"a validator added in block {self.height} is active from {self.height + 1}, "
                f"not {active_from}",
            )
        self.validators.append(self._new_validator(entry, active_from, home_id))

    def _new_validator(self, data: Entry, active_from: int, home_id: str | None) -> Validator:
        name = str_field(data, "name")
        public_key = bytes.fromhex(str_field(data, "public_key"))
        if any(v.public_key == public_key for v in self.validators):
            raise fail(
                errors.DUPLICATE_VALIDATOR,
                f"validator key {public_key.hex()[:16]}... is already registered",
            )
        if not self.backend.verify_possession(public_key, bytes.fromhex(str_field(data, "pop"))):
            raise fail(
                errors.BAD_PROOF_OF_POSSESSION,
                f"validator {name!r}: the proof of possession does not verify",
            )
        return Validator(len(self.validators), name, public_key, home_id, active_from)

    def _enrol(self, entry: Entry, where: str) -> None:
        home_id = str_field(entry, "home_id")
        if home_id in self.homes:
            raise fail(errors.INVALID_ENTRY, f"home {home_id} is already enrolled")
        new_keys: dict[str, KeyInfo] = {}
        for key in entry["keys"]:
            key_id, public_key = str_field(key, "key_id"), str_field(key, "public_key")
            kind = key["kind"]
            if key_id != key_id_of(public_key):
                raise fail(errors.INVALID_ENTRY, f"key id {key_id} does not match its public key")
            if kind not in KEY_KINDS:
                raise fail(errors.INVALID_ENTRY, f"key {key_id}: unknown kind {kind!r}")
            if key_id in self.keys or key_id in new_keys:
                raise fail(errors.DUPLICATE_KEY, f"key {key_id} is already enrolled")
            new_keys[key_id] = KeyInfo(home_id, kind, public_key)
        self.homes[home_id] = HomeInfo(keys=sorted(new_keys))
        self.keys.update(new_keys)
        self._meters.pop(home_id, None)
        self._owners_of = None

    def _revoke(self, entry: Entry, where: str) -> None:
        home_id = str_field(entry, "home_id")
        home = self.homes.get(home_id)
        if home is None:
            raise fail(errors.UNKNOWN_ACCOUNT, f"home {home_id} is not enrolled")
        self._meters.pop(home_id, None)
        key_id = entry["key_id"]
        if key_id is None:
            if home.revoked:
                raise fail(errors.INVALID_ENTRY, f"home {home_id} is already revoked")
            home.revoked = True
            for kid in home.keys:
                self.keys[kid].revoked = True
            return
        key = self.keys.get(key_id)
        if key is None or key.home_id != home_id:
            raise fail(errors.UNKNOWN_KEY, f"key {key_id} is not a key of home {home_id}")
        if key.revoked:
            raise fail(errors.REVOKED_KEY, f"key {key_id} is already revoked")
        key.revoked = True

    def _active_home(self, home_id: str) -> HomeInfo:
        home = self.homes.get(home_id)
        if home is None:
            raise fail(errors.UNKNOWN_ACCOUNT, f"home {home_id} is not enrolled")
        if home.revoked:
            raise fail(errors.HOME_REVOKED, f"home {home_id} is revoked")
        return home

    def _all_meters(self) -> dict[str, list[tuple[str, str]]]:
        """meters_of for every home (kept until a key changes)."""
        if len(self._meters) != len(self.homes):
            for home_id in self.homes:
                self.meters_of(home_id)
        return self._meters

    def meters_of(self, home_id: str) -> list[tuple[str, str]]:
        """The home's active meters as (key_id, kind), by key id (do not change the list)."""
        meters = self._meters.get(home_id)
        if meters is None:
            home = self.homes.get(home_id)
            if home is None:
                return []
            meters = self._meters[home_id] = [
                (key_id, self.keys[key_id].kind)
                for key_id in home.keys
                if self.keys[key_id].kind != "home" and not self.keys[key_id].revoked
            ]
        return meters

    def _home_key_owners(self) -> dict[str, str]:
        """Home key id -> its home, for every enrolled home (kept until a home enrols)."""
        if self._owners_of is None:
            self._owners_of = {
                key_id: key.home_id for key_id, key in self.keys.items() if key.kind == "home"
            }
        return self._owners_of

    def validators_at(self, height: int) -> list[Validator]:
        return [v for v in self.validators if v.active_from <= height]
