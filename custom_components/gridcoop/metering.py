"""Signed meter readings: per hub meter, add up device counters, sign, buffer, upload.

The hub refuses a register that goes down, so a hub meter never copies a device counter: it adds
each device's increase since the last sample. Devices added, removed or reset (a counter that
drops) then never make a meter run backwards. Totals and the unsent backlog are stored, so an
outage or a restart loses nothing (the hub accepts backlog up to 7 days old). The backlog is capped
per meter, not for the home: each meter keeps its newest MAX_BACKLOG readings, so a four-meter home
keeps a 7-day outage's 1-minute readings as a one-meter home does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from gridcoop_home.client.api import HubApi
from gridcoop_home.client.hub import Meter
from gridcoop_home.protocol.envelope import parse_signed_message
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER
from .devices import DeviceConfig
from .sources import DeviceSnapshot

STORAGE_VERSION = 1
MAX_BACKLOG = 20_000  # per meter: about two weeks of 1-minute readings
UPLOAD_BATCH = 1000  # the hub's default max_batch


class Metering:
    def __init__(self, hass: HomeAssistant, entry_id: str, meter_keys: Mapping[str, str]) -> None:
        self._meters = {
            kind: Meter(kind, kind, SigningKey.from_text(text)) for kind, text in meter_keys.items()
        }
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.metering"
        )
        # meter kind -> [import Wh, export Wh] as uploaded; device id -> last raw counters
        self._totals: dict[str, list[float]] = {}
        self._last_raw: dict[str, list[float | None]] = {}
        self.backlog: list[dict[str, Any]] = []
        self._kind_of_key = {meter.key.key_id: kind for kind, meter in self._meters.items()}
        self._queued: Counter[str] = Counter()  # key id -> its readings in the backlog
        self._dropping: set[str] = set()  # meters whose drops were logged in this outage

    async def async_load(self) -> None:
        if (data := await self._store.async_load()) is not None:
            self._totals = data.get("totals", {})
            self._last_raw = data.get("last_raw", {})
            self.backlog = data.get("backlog", [])
            self._queued = Counter(item.get("key_id") for item in self.backlog)

    def _save(self) -> None:
        self._store.async_delay_save(
            lambda: {"totals": self._totals, "last_raw": self._last_raw, "backlog": self.backlog},
            10,
        )

    def sample(
        self, devices: Mapping[str, DeviceConfig], snapshots: Mapping[str, DeviceSnapshot]
    ) -> int:
        """Add each device's counter increase to its meter; sign one reading per meter that moved
        or has never been read. Returns how many readings were queued."""
        touched: set[str] = set()
        for sub_id, device in devices.items():
            kind = device.meter_kind
            snap = snapshots.get(sub_id)
            if kind not in self._meters or snap is None:
                continue
            raw = [snap.import_wh, snap.export_wh]
            if raw == [None, None]:
                continue
            totals = self._totals.setdefault(kind, [0.0, 0.0])
            last = self._last_raw.get(sub_id, [None, None])
            for i in (0, 1):
                new, old = raw[i], last[i]
                if new is not None and old is not None and new > old:
                    totals[i] += new - old
            self._last_raw[sub_id] = [raw[i] if raw[i] is not None else last[i] for i in (0, 1)]
            touched.add(kind)
        for kind in sorted(touched):
            import_wh, export_wh = self._totals[kind]
            reading = self._meters[kind].reading(int(import_wh), int(export_wh))
            self.backlog.append(reading.to_wire())
            self._queued[reading.key_id] += 1
        if touched:
            self._trim()
            self._save()
        return len(touched)

    def _trim(self) -> None:
        """Drop each meter's oldest readings beyond MAX_BACKLOG (one meter's flood never costs
        another meter its readings). Logged once per meter until the backlog drains."""
        excess = {key: n - MAX_BACKLOG for key, n in self._queued.items() if n > MAX_BACKLOG}
        if not excess:
            return
        for key, n in excess.items():
            kind = self._kind_of_key.get(str(key), str(key))
            if kind not in self._dropping:
                self._dropping.add(kind)
                LOGGER.warning(
                    "Reading backlog of the %s meter is full (%s readings): dropping its oldest",
                    kind,
                    MAX_BACKLOG,
                )
            LOGGER.debug("Dropping the %s oldest readings of the %s meter", n, kind)
            self._queued[key] = MAX_BACKLOG
        kept: list[dict[str, Any]] = []
        for item in self.backlog:
            key = item.get("key_id")
            if excess.get(key, 0) > 0:
                excess[key] -= 1
            else:
                kept.append(item)
        self.backlog = kept

    async def upload(self, client: HubApi) -> int:
        """Send the backlog oldest first; on HubUnreachable/HubError the unsent rest stays."""
        sent = 0
        while self.backlog:
            batch = self.backlog[:UPLOAD_BATCH]
            result = await client.upload_readings(
                [parse_signed_message(item, "reading") for item in batch]
            )
            if result.rejected:
                LOGGER.warning("Hub rejected %s of %s readings", result.rejected, len(batch))
            # Accepted, duplicate and rejected readings all leave the queue: a rejected reading
            # would be rejected again forever.
            del self.backlog[: len(batch)]
            self._queued.subtract(item.get("key_id") for item in batch)
            sent += len(batch)
        self._dropping.clear()
        self._save()
        return sent
