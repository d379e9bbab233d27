"""Remember failed discoveries, so a broken device is not walked again every reading interval.

Shared across SunSpecDevice instances on purpose: callers (the Home Assistant integration's
pool) drop and recreate a device after an error, and the backoff must survive that.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import SunSpecError

FIRST_BACKOFF_S = 30.0
MAX_BACKOFF_S = 900.0


@dataclass(slots=True)
class _Failure:
    error: SunSpecError
    failures: int
    retry_at: float


class DiscoveryBackoff:
    """Per device (host, port, unit): the last discovery error and when to try again.

    The wait doubles with each failure in a row, from `first_s` to `max_s`; a successful
    discovery forgets the device.
    """

    def __init__(
        self,
        first_s: float = FIRST_BACKOFF_S,
        max_s: float = MAX_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._clock = clock
        self._failures: dict[str, _Failure] = {}

    def check(self, device: str) -> None:
        """Raise the remembered error (same class, extended message) while backing off."""
        failure = self._failures.get(device)
        if failure is None:
            return
        wait = failure.retry_at - self._clock()
        if wait <= 0:
            return
        remembered = copy.copy(failure.error)  # same class and attributes, fresh traceback
        remembered.args = (
            f"{failure.error} (discovery failed {failure.failures} time(s) in a row; "
            f"not retried for another {wait:.0f} s)",
        )
        raise remembered

    def failed(self, device: str, error: SunSpecError) -> None:
        previous = self._failures.get(device)
        failures = 1 if previous is None else previous.failures + 1
        wait = min(self.max_s, self.first_s * 2 ** min(failures - 1, 20))
        self._failures[device] = _Failure(error, failures, self._clock() + wait)

    def succeeded(self, device: str) -> None:
        self._failures.pop(device, None)

    def clear(self) -> None:
        self._failures.clear()


# The registry SunSpecDevice uses unless given another one.
DISCOVERY_BACKOFF = DiscoveryBackoff()
