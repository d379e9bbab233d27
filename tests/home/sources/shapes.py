"""Inputs shaped exactly like what Home Assistant hands over, built from the documented shapes.

Every builder names where its shape comes from (read in the integration's source; the research
notes in the issue tracker have the line references):

- Nord Pool core, `nordpool.get_prices_for_date` response: homeassistant/components/nordpool/
  services.py (response built at lines 167-175): `{AREA: [{"start", "end", "price"}]}`, UTC
  `isoformat()` times, price = raw API value in currency/MWh.
- Nord Pool HACS (custom-components/nordpool v0.0.18, sensor.py 338-399): `raw_today`/
  `raw_tomorrow` of `{"start", "end", "value"}`, local-time datetimes (ISO strings over the API),
  value in currency/kWh incl. VAT; plus `currency`, `unit`, `price_in_cents`, `tomorrow_valid`.
- Tibber core, `tibber.get_prices` (services.py 26-118, pyTibber 0.37.6 home.py 258):
  `{"prices": {home: [{"start_time": "2025-10-20T00:00:00.000+02:00", "price": 0.4695}]}}`.
- ENTSO-e HACS (JaccoR/hass-entso-e v0.7.1, coordinator.py 239-243): `{"time": str(datetime),
  "price": float}`, i.e. "2025-10-20 00:00:00+02:00" with a space.
- Octopus Energy HACS (BottlecapDave v18.3.1, utils/__init__.py 149-170): event attribute
  `rates` of `{"start", "end", "value_inc_vat", "is_capped", "is_intelligent_adjusted"}`, GBP/kWh,
  30 minutes, local times.
- Energy platform solar forecast (homeassistant/components/forecast_solar/energy.py):
  `{"wh_hours": {timestamp.isoformat(): Wh}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
OSLO = ZoneInfo("Europe/Oslo")
QUARTER = timedelta(minutes=15)

# Last Sunday of March 2026 (23 h in Europe) and of October 2025 (25 h).
SPRING_DAY = date(2026, 3, 29)
AUTUMN_DAY = date(2025, 10, 26)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def day_bounds_utc(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A local calendar day as UTC instants (23, 24 or 25 hours long)."""
    next_day = day + timedelta(days=1)
    return local_midnight(day, tz).astimezone(UTC), local_midnight(next_day, tz).astimezone(UTC)


def steps(day: date, tz: ZoneInfo, step: timedelta) -> list[datetime]:
    """The UTC starts of every `step` of a local day."""
    begin, end = day_bounds_utc(day, tz)
    return [begin + i * step for i in range(int((end - begin) / step))]


def price_of(when: datetime) -> float:
    """A recognisable price shape: cheap nights, an evening peak, a distinct value per quarter."""
    local = when.astimezone(STOCKHOLM)
    base = 0.30 if 17 <= local.hour < 21 else 0.10 if local.hour < 6 else 0.20
    return round(base + local.minute / 10_000 + local.day / 1_000_000, 6)


def nordpool_core_response(
    day: date, areas: Sequence[str] = ("SE3",), step: timedelta = QUARTER, empty: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """`nordpool.get_prices_for_date` for one local (CET) day: UTC times, currency per MWh."""
    entries = [] if empty else steps(day, STOCKHOLM, step)
    return {
        area: [
            {
                "start": t.isoformat(),
                "end": (t + step).isoformat(),
                "price": round(price_of(t) * 1000, 2),
            }
            for t in entries
        ]
        for area in areas
    }


def nordpool_hacs_items(
    day: date,
    tz: ZoneInfo = STOCKHOLM,
    step: timedelta = QUARTER,
    value: Callable[[datetime], float] = price_of,
) -> list[dict[str, Any]]:
    """`raw_today`-style items: local ISO times with offset, value in currency/kWh."""
    return [
        {
            "start": t.astimezone(tz).isoformat(),
            "end": (t + step).astimezone(tz).isoformat(),
            "value": value(t),
        }
        for t in steps(day, tz, step)
    ]


def nordpool_hacs_attributes(
    today: date, *, with_tomorrow: bool = True, step: timedelta = QUARTER, **extra: Any
) -> dict[str, Any]:
    raw_today = nordpool_hacs_items(today, step=step)
    raw_tomorrow = (
        nordpool_hacs_items(today + timedelta(days=1), step=step) if with_tomorrow else []
    )
    attributes = {
        "current_price": raw_today[0]["value"],
        "unit": "kWh",
        "currency": "SEK",
        "country": "Sweden",
        "region": "SE3",
        "price_in_cents": False,
        "today": [entry["value"] for entry in raw_today],
        "tomorrow": [entry["value"] for entry in raw_tomorrow],
        "tomorrow_valid": len(raw_tomorrow) >= 23,
        "raw_today": raw_today,
        "raw_tomorrow": raw_tomorrow,
    }
    attributes.update(extra)
    return attributes


def tibber_response(day: date, home: str = "Hemma", tz: ZoneInfo = OSLO) -> dict[str, Any]:
    """`tibber.get_prices`: Tibber's raw `startsAt` strings (milliseconds, local offset)."""
    return {
        "prices": {
            home: [
                {
                    "start_time": t.astimezone(tz).isoformat(timespec="milliseconds"),
                    "price": price_of(t),
                }
                for t in steps(day, tz, QUARTER)
            ]
        }
    }


def entsoe_items(
    day: date, tz: ZoneInfo = BERLIN, step: timedelta = timedelta(hours=1)
) -> list[dict[str, Any]]:
    """ENTSO-e `prices_today` items: `str(datetime)` (space separator), no end."""
    return [{"time": str(t.astimezone(tz)), "price": price_of(t)} for t in steps(day, tz, step)]


def octopus_event(day: date, value: Callable[[datetime], float] = price_of) -> dict[str, Any]:
    """An Octopus Energy `..._current_day_rates` event entity's attributes (30-minute rates)."""
    half_hour = timedelta(minutes=30)
    return {
        "event_type": "octopus_energy_electricity_current_day_rates",
        "tariff_code": "E-1R-AGILE-24-10-01-C",
        "mpan": "1234567890123",
        "serial_number": "22L1234567",
        "rates": [
            {
                "start": t.astimezone(LONDON).isoformat(),
                "end": (t + half_hour).astimezone(LONDON).isoformat(),
                "value_inc_vat": value(t),
                "is_capped": False,
            }
            for t in steps(day, LONDON, half_hour)
        ],
    }
