"""The one error a bad feeder description raises."""

from __future__ import annotations


class FeederError(ValueError):
    """A feeder file or model is wrong; `element` names the culprit, e.g. "line 'L7'"."""

    def __init__(self, element: str, message: str) -> None:
        super().__init__(f"{element}: {message}")
        self.element = element
        self.message = message
