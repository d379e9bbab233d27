"""What the application layer needs from its surroundings: a clock and somewhere to publish.

The server provides them (its WebSocket Broadcaster, or the PostgreSQL outbox with several
workers); the simulator provides its own. Neither is imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Clock = Callable[[], float]  # UTC seconds since the epoch


class Publisher(Protocol):
    """Market news to every subscriber, allocations and dispatch to one home's subscribers."""

    async def publish(self, message: dict[str, Any]) -> None: ...
    async def send_to_home(self, home_id: str, message: dict[str, Any]) -> None: ...
