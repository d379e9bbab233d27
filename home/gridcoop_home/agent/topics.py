"""The agent's MQTT topics and payloads (docs/home_agent.md has the table).

In (the home tells the agent; plain numbers, or JSON numbers):

- `<prefix>/meter/<kind>/import_wh`, `<prefix>/meter/<kind>/export_wh`: a meter's lifetime
  register in Wh (kind: grid, pv, battery, ev);
- `<prefix>/device/battery/soc_pct`, `<prefix>/device/ev/soc_pct`: state of charge, 0..100;
- `<prefix>/device/load/<id>/running`: on/off (true/false, 1/0) for a flexible load.

Out (retained JSON, for any home automation):

- `<prefix>/status`: `online` / `offline` (the broker publishes `offline` if the agent dies);
- `<prefix>/price/now`: the market price of the interval under way;
- `<prefix>/dispatch/<device>`: what a device does in the interval under way (`battery`, `ev`,
  `pv`, `load/<id>`);
- `<prefix>/bid`: the last bid the agent submitted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

METER_FIELDS = ("import_wh", "export_wh")
ON = {"on", "true", "1", "yes"}
OFF = {"off", "false", "0", "no"}


def check_prefix(prefix: str) -> str | None:
    """Why `prefix` cannot start topics, or None: no wildcards, no empty levels, no `$`."""
    if any(c in prefix for c in "+#\x00"):
        return f"must not contain + # or NUL, got {prefix!r}"
    if prefix.startswith("$") or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        return f"must not start with $ or /, end with / or have empty levels, got {prefix!r}"
    return None


def meter_topic(prefix: str, kind: str, register: str) -> str:
    return f"{prefix}/meter/{kind}/{register}"


def soc_topic(prefix: str, device: str) -> str:
    return f"{prefix}/device/{device}/soc_pct"


def running_topic(prefix: str, load_id: str) -> str:
    return f"{prefix}/device/load/{load_id}/running"


def status_topic(prefix: str) -> str:
    return f"{prefix}/status"


def price_topic(prefix: str) -> str:
    return f"{prefix}/price/now"


def bid_topic(prefix: str) -> str:
    return f"{prefix}/bid"


def dispatch_topic(prefix: str, device: str) -> str:
    """`load:dishwasher` (a bid's asset tag) publishes on `<prefix>/dispatch/load/dishwasher`."""
    return f"{prefix}/dispatch/{device.replace(':', '/', 1)}"


def subscriptions(prefix: str) -> list[str]:
    return [f"{prefix}/meter/+/+", f"{prefix}/device/+/soc_pct", f"{prefix}/device/load/+/running"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One understood message: a meter register, a state of charge or a load's running state."""

    what: str  # "meter" | "soc" | "running"
    device: str  # the meter kind, "battery"/"ev", or the load id
    field: str  # import_wh/export_wh for a meter, else the same as `what`
    value: float


def parse_inbound(prefix: str, topic: str, payload: bytes) -> Inbound | None:
    """The message on `topic`, or None when it is not one of ours or its payload is unusable
    (a register that is not a finite number >= 0, a state of charge outside 0..100)."""
    if not topic.startswith(prefix + "/"):
        return None
    levels = topic[len(prefix) + 1 :].split("/")
    text = payload.decode(errors="replace").strip()
    match levels:
        case ["meter", kind, register] if register in METER_FIELDS:
            value = _number(text)
            return None if value is None or value < 0 else Inbound("meter", kind, register, value)
        case ["device", ("battery" | "ev") as device, "soc_pct"]:
            value = _number(text)
            if value is None or not 0 <= value <= 100:
                return None
            return Inbound("soc", device, "soc", value)
        case ["device", "load", load_id, "running"]:
            state = text.lower().strip('"')
            if state in ON or state in OFF:
                return Inbound("running", load_id, "running", 1.0 if state in ON else 0.0)
    return None


def _number(text: str) -> float | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
