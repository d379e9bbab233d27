"""The home's key file: what `gridcoop-home join` writes and `gridcoop-home run` reads.

JSON, created with mode 0600 and never overwritten::

    {
      "format": "gridcoop-home-keys/1",
      "hub_url": "http://hub.example:8787",
      "home_id": "h_…",
      "home_key": "<base64url of the 32-byte Ed25519 seed>",
      "meters": {"grid": "<seed>", "pv": "<seed>", "battery": "<seed>", "ev": "<seed>"}
    }

Keys are encoded as `gridcoop_home.protocol.keys.SigningKey.to_text`; a witness's `--home-key`
file holds the `home_key` value alone. Whoever has this file can bid and report
readings as the home: keep it like a password.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import METER_KINDS

FORMAT = "gridcoop-home-keys/1"


class KeyFileError(Exception):
    """The key file is missing, unreadable, malformed or (on save) already there."""


@dataclass(frozen=True, slots=True)
class HomeKeys:
    hub_url: str
    home_id: str
    home_key: SigningKey
    meters: dict[str, SigningKey]  # meter kind (also its name at the hub) -> key

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "hub_url": self.hub_url,
            "home_id": self.home_id,
            "home_key": self.home_key.to_text(),
            "meters": {kind: key.to_text() for kind, key in self.meters.items()},
        }


def save_keys(path: Path, keys: HomeKeys) -> None:
    """Write `keys` to a new file readable by its owner only; refuse an existing file (a second
    join must never destroy the keys of the first)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as err:
        raise KeyFileError(f"{path} exists: refusing to overwrite a key file") from err
    except OSError as err:
        raise KeyFileError(f"cannot create {path}: {err.strerror}") from err
    with os.fdopen(fd, "w") as out:
        json.dump(keys.to_json(), out, indent=2)
        out.write("\n")


def load_keys(path: Path) -> HomeKeys:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise KeyFileError(f"{path}: no such key file (run `gridcoop-home join` first)") from err
    except OSError as err:
        raise KeyFileError(f"{path}: {err.strerror}") from err
    except ValueError as err:
        raise KeyFileError(f"{path} is not JSON: {err}") from err
    return _parse(path, data)


def _parse(path: Path, data: Any) -> HomeKeys:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise KeyFileError(f"{path} is not a GridCoop home key file (format must be {FORMAT!r})")
    for field in ("hub_url", "home_id", "home_key"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise KeyFileError(f"{path}: {field} must be a non-empty string")
    meters = data.get("meters")
    if not isinstance(meters, dict) or not meters:
        raise KeyFileError(f"{path}: meters must map meter kinds to keys")
    try:
        home_key = SigningKey.from_text(data["home_key"])
        meter_keys = {str(kind): _meter_key(path, kind, text) for kind, text in meters.items()}
    except ProtocolError as err:
        raise KeyFileError(f"{path}: home_key: {err.detail}") from err
    return HomeKeys(data["hub_url"], data["home_id"], home_key, meter_keys)


def _meter_key(path: Path, kind: Any, text: Any) -> SigningKey:
    if kind not in METER_KINDS:
        raise KeyFileError(f"{path}: meters.{kind}: kind must be one of {list(METER_KINDS)}")
    try:
        return SigningKey.from_text(str(text))
    except ProtocolError as err:
        raise KeyFileError(f"{path}: meters.{kind}: {err.detail}") from err
