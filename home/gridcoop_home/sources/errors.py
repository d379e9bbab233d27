"""Errors for input from Home Assistant that cannot be used, each naming the field at fault."""

from __future__ import annotations


class SourceError(ValueError):
    """Malformed input from a source; `field` names it, e.g. "raw_today[3].start"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PriceSourceError(SourceError):
    """A price series (Nord Pool, Tibber, ENTSO-e, Octopus, a generic attribute) is unusable."""


class SolarForecastError(SourceError):
    """A solar forecast (`{"wh_hours": {...}}` of the Energy platform) is unusable."""


class CarbonSourceError(SourceError):
    """Carbon-intensity history or the current value is unusable, or there is none."""


class EnergyPreferencesError(SourceError):
    """The Energy dashboard's preferences do not have the documented shape."""
