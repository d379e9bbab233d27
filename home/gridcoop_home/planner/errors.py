"""The one error the planner raises for requests it cannot honour."""

from __future__ import annotations


class PlannerInputError(ValueError):
    """An impossible or malformed request; `field` names the input, e.g. "ev.target_wh"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
