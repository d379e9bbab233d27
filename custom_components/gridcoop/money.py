"""Unit helpers: the hub speaks minor units per kWh and milli-minor units of money."""

from __future__ import annotations

# Every currency the hub is used with so far has 100 minor units (EUR, CHF, GBP, SEK...).
MINOR_PER_MAJOR = 100


def price_major(minor_per_kwh: float | None) -> float | None:
    """Minor units/kWh -> currency/kWh (e.g. 23 c/kWh -> 0.23 EUR/kWh)."""
    return None if minor_per_kwh is None else round(minor_per_kwh / MINOR_PER_MAJOR, 5)


def money_major(mminor: int) -> float:
    """Milli-minor units -> currency (e.g. 123456 m-cents -> 1.23 EUR)."""
    return round(mminor / 1000 / MINOR_PER_MAJOR, 4)


def major_to_minor(value: float) -> float:
    return value * MINOR_PER_MAJOR
