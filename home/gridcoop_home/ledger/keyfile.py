"""BLS validator key files: JSON `{"bls_secret_key": "<64 hex>"}`, created with mode 0600."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gridcoop_home.ledger.bls import generate_secret_key, secret_key_from_text, secret_key_to_text


def load_or_create_key(path: Path) -> int:
    """The secret key in `path`, or a new one written there when the file does not exist."""
    if path.exists():
        try:
            return secret_key_from_text(json.loads(path.read_text())["bls_secret_key"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a GridCoop BLS key file: {err}") from err
    secret = generate_secret_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"bls_secret_key": secret_key_to_text(secret)}, out)
    return secret
