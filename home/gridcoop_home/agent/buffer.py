"""The readings buffer on disk: what has not reached the hub survives a restart.

A JSON file (`state_file` in agent.toml) with the unsent signed readings, oldest first, and the
registers last sent per meter (so a register is still never sent lower after a restart). Written
atomically (a temporary file renamed over it) whenever it changed; a file that cannot be written
or read is logged and the agent goes on with what it has in memory.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from gridcoop_home.protocol.envelope import SignedMessage, parse_signed_message
from gridcoop_home.protocol.errors import ProtocolError

LOGGER = logging.getLogger("gridcoop_home.agent")
FORMAT = "gridcoop-home-state/1"

Sent = dict[str, tuple[int, int]]


def save_state(path: Path, backlog: list[SignedMessage], sent: Sent) -> bool:
    data = {
        "format": FORMAT,
        "sent": {kind: list(registers) for kind, registers in sent.items()},
        "backlog": [reading.to_wire() for reading in backlog],
    }
    temporary = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, separators=(",", ":"))
        temporary.replace(path)
    except OSError as err:
        LOGGER.warning("Cannot save the readings buffer to %s: %s", path, err)
        return False
    return True


def load_state(path: Path) -> tuple[list[SignedMessage], Sent]:
    """The saved buffer, or an empty one when there is none or it is unreadable."""
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return [], {}
    except (OSError, ValueError) as err:
        LOGGER.warning("Readings buffer %s unreadable, starting empty: %s", path, err)
        return [], {}
    try:
        if data.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}")
        backlog = [parse_signed_message(item, "reading") for item in data["backlog"]]
        sent = {str(k): (int(v[0]), int(v[1])) for k, v in data["sent"].items()}
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, ProtocolError) as err:
        LOGGER.warning("Readings buffer %s unreadable, starting empty: %s", path, err)
        return [], {}
    return backlog, sent
