"""What the agent knows of the home right now: the latest meter registers, states of charge and
load states, from MQTT or SunSpec."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridcoop_home.agent.topics import Inbound


@dataclass
class HomeState:
    registers: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> field -> Wh
    soc_pct: dict[str, float] = field(default_factory=dict)  # battery / ev
    running: dict[str, bool] = field(default_factory=dict)  # load id -> running

    def apply(self, message: Inbound) -> None:
        if message.what == "meter":
            self.registers.setdefault(message.device, {})[message.field] = message.value
        elif message.what == "soc":
            self.soc_pct[message.device] = message.value
        elif message.what == "running":
            self.running[message.device] = message.value > 0

    def meter(self, kind: str) -> tuple[float, float] | None:
        """Both registers of `kind`, or None until each has been seen once."""
        seen = self.registers.get(kind, {})
        if "import_wh" not in seen or "export_wh" not in seen:
            return None
        return seen["import_wh"], seen["export_wh"]
