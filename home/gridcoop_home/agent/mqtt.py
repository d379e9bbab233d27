"""The agent's MQTT link: listens to the home's topics, publishes retained JSON, reconnects.

Publishing never waits for the broker: the last payload per topic is kept and sent on (re)connect,
so a home automation that subscribes later, or a broker that restarts, still gets the latest
price and dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from gridcoop_home.agent.config import MqttConfig
from gridcoop_home.agent.settings import ConfigError
from gridcoop_home.agent.state import HomeState
from gridcoop_home.agent.topics import parse_inbound, status_topic, subscriptions

try:
    import aiomqtt

    HAVE_MQTT = True
except ImportError:  # pragma: no cover - the base install of gridcoop-home has no MQTT
    HAVE_MQTT = False

LOGGER = logging.getLogger("gridcoop_home.agent")
MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0


def require_mqtt() -> None:
    if not HAVE_MQTT:
        raise ConfigError(
            "[mqtt] needs the MQTT client: pip install 'gridcoop-home[agent]' (aiomqtt)"
        )


class MqttLink:
    def __init__(self, config: MqttConfig, state: HomeState, identifier: str) -> None:
        require_mqtt()
        self.config = config
        self.state = state
        self._identifier = identifier
        self._retained: dict[str, bytes] = {}
        self._client: Any = None
        self.connected = asyncio.Event()

    async def publish(self, topic: str, payload: dict[str, Any] | str) -> None:
        """Publish retained; when the broker is away, send it on reconnect (latest wins)."""
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        if self._retained.get(topic) == data:
            return  # retained already: the same message again tells nobody anything
        self._retained[topic] = data
        if self._client is not None:
            try:
                await self._client.publish(topic, data, qos=1, retain=True)
            except aiomqtt.MqttError as err:
                LOGGER.debug("MQTT publish on %s waits for the broker: %s", topic, err)

    async def run(self) -> None:
        """Connect, subscribe, apply messages; on any broker trouble wait and reconnect."""
        delay = MIN_BACKOFF
        prefix = self.config.prefix
        while True:
            try:
                async with self._connect() as client:
                    self._client = client
                    self.connected.set()
                    delay = MIN_BACKOFF
                    LOGGER.info("MQTT connected to %s:%s", self.config.host, self.config.port)
                    await self._on_connect(client)
                    async for message in client.messages:
                        payload = message.payload
                        if isinstance(payload, bytes | bytearray):
                            inbound = parse_inbound(prefix, message.topic.value, bytes(payload))
                            if inbound is not None:
                                self.state.apply(inbound)
            except aiomqtt.MqttError as err:
                LOGGER.warning("MQTT broker %s:%s: %s", self.config.host, self.config.port, err)
            self._client = None
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _connect(self) -> Any:
        status = status_topic(self.config.prefix)
        return aiomqtt.Client(
            self.config.host,
            self.config.port,
            username=self.config.username,
            password=self.config.password,
            identifier=self._identifier,
            will=aiomqtt.Will(status, b"offline", qos=1, retain=True),
        )

    async def _on_connect(self, client: Any) -> None:
        for topic in subscriptions(self.config.prefix):
            await client.subscribe(topic, qos=1)
        await client.publish(status_topic(self.config.prefix), b"online", qos=1, retain=True)
        for topic, data in list(self._retained.items()):
            await client.publish(topic, data, qos=1, retain=True)

    async def close(self) -> None:
        """Say offline before a clean stop (the broker's will covers a crash)."""
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.publish(
                    status_topic(self.config.prefix), b"offline", qos=1, retain=True
                )
