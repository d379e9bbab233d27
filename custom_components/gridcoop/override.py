"""The owner stays in charge: a device switched or set by someone else pauses automatic dispatch.

GridCoop tags every service call it makes with a Context of its own. A change of a device's
switch or setpoint entity under any other context (a person, an automation, the device itself)
is a manual change: automatic dispatch leaves that device alone until it is switched off again
or the configured pause runs out (0 = only when switched off). A load switched on by hand is
therefore never switched off by dispatch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.util import dt as dt_util

from .const import CONF_SETPOINT_ENTITY, CONF_SWITCH_ENTITY, LOGGER
from .devices import DeviceConfig

KEEP_CONTEXTS = 64  # our recent service calls; their state changes are not manual


@dataclass(frozen=True, slots=True)
class Override:
    since: datetime
    until: datetime | None  # None: until the device is switched off
    entity_id: str


class OverrideTracker:
    def __init__(
        self,
        hass: HomeAssistant,
        devices: Mapping[str, DeviceConfig],
        pause: timedelta,
        on_change: Callable[[str], None],
    ) -> None:
        self._hass = hass
        self._devices = devices
        self._pause = pause
        self._on_change = on_change
        self._ours: list[str] = []
        self.active: dict[str, Override] = {}  # subentry id -> override
        self._timers: dict[str, Callable[[], None]] = {}

    def context(self) -> Context:
        """A context for one of GridCoop's own service calls."""
        context = Context()
        self._ours = [*self._ours[-KEEP_CONTEXTS + 1 :], context.id]
        return context

    @callback
    def start(self) -> Callable[[], None]:
        watched = {
            entity_id: sub_id
            for sub_id, device in self._devices.items()
            for key in (CONF_SWITCH_ENTITY, CONF_SETPOINT_ENTITY)
            if (entity_id := device.get(key))
        }

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            self._changed(watched[event.data["entity_id"]], event)

        unsubscribe = (
            async_track_state_change_event(self._hass, list(watched), changed) if watched else None
        )

        @callback
        def stop() -> None:
            if unsubscribe is not None:
                unsubscribe()
            for cancel in self._timers.values():
                cancel()
            self._timers.clear()

        return stop

    def is_paused(self, subentry_id: str) -> bool:
        override = self.active.get(subentry_id)
        if override is None:
            return False
        if override.until is not None and dt_util.utcnow() >= override.until:
            self._end(subentry_id)
            return False
        return True

    def _changed(self, subentry_id: str, event: Event[EventStateChangedData]) -> None:
        new, old = event.data["new_state"], event.data["old_state"]
        if new is None or old is None or new.state == old.state:
            return
        if new.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return
        ours = event.context.id in self._ours or event.context.parent_id in self._ours
        if new.state == STATE_OFF and subentry_id in self.active:
            self._end(subentry_id)  # switched off by anyone: dispatch may act again
            return
        if ours or new.state == STATE_OFF:
            return
        now = dt_util.utcnow()
        until = None if new.state == STATE_ON and not self._pause else now + self._pause
        if new.state != STATE_ON and not self._pause:
            until = now + timedelta(hours=1)  # a setpoint has no "off": pause an hour
        self.active[subentry_id] = Override(now, until, event.data["entity_id"])
        if (cancel := self._timers.pop(subentry_id, None)) is not None:
            cancel()
        if until is not None:
            self._timers[subentry_id] = async_track_point_in_utc_time(
                self._hass, self._expire(subentry_id, until), until
            )
        LOGGER.info(
            "%s was changed by hand: automatic dispatch leaves it alone %s",
            self._devices[subentry_id].title,
            f"until {until.isoformat()}" if until else "until it is switched off",
        )
        self._on_change(subentry_id)

    def _expire(self, subentry_id: str, until: datetime) -> Callable[[datetime], None]:
        @callback
        def expired(_now: datetime) -> None:
            self._timers.pop(subentry_id, None)
            override = self.active.get(subentry_id)
            if override is not None and override.until == until:
                self._end(subentry_id)

        return expired

    def _end(self, subentry_id: str) -> None:
        if self.active.pop(subentry_id, None) is not None:
            self._on_change(subentry_id)
