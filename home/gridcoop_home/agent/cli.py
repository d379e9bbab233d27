"""`gridcoop-home join` and `gridcoop-home run`: a home on a hub without Home Assistant.

Exit codes: 0 done, 1 the hub refused or could not be reached (join), 2 bad arguments,
configuration or key file. Errors are one line naming what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import aiohttp

from gridcoop_home.agent.config import AgentConfig, load_config
from gridcoop_home.agent.keyfile import HomeKeys, KeyFileError, load_keys, save_keys
from gridcoop_home.agent.loop import Agent
from gridcoop_home.agent.metering import Metering
from gridcoop_home.agent.mqtt import MqttLink, require_mqtt
from gridcoop_home.agent.settings import ConfigError
from gridcoop_home.agent.state import HomeState
from gridcoop_home.client.api import HubApi
from gridcoop_home.client.errors import HubError, HubUnreachable
from gridcoop_home.client.hub import HubClient, Meter
from gridcoop_home.protocol.keys import SigningKey
from gridcoop_home.protocol.readings import METER_KINDS

LOGGER = logging.getLogger("gridcoop_home.agent")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridcoop-home", description="A GridCoop home without Home Assistant."
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    sub = parser.add_subparsers(dest="command", required=True)
    join = sub.add_parser("join", help="enrol this home with a join code and save its keys")
    join.add_argument("url", help="the hub's address, e.g. http://hub.local:8787")
    join.add_argument("code", help="the one-time join code from the hub's operator")
    join.add_argument("--keys", required=True, type=Path, help="the key file to create (0600)")
    run = sub.add_parser("run", help="read meters, upload readings, plan, bid, publish on MQTT")
    run.add_argument("--config", required=True, type=Path, help="agent.toml")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "join":
            return asyncio.run(join(args.url, args.code, args.keys))
        return run(args.config)
    except (ConfigError, KeyFileError) as err:
        print(f"gridcoop-home: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def hub_url(url: str) -> str:
    """A URL without a scheme is http (a hub on the home network: `hub.local:8787`)."""
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


async def join(url: str, code: str, keys_path: Path) -> int:
    if keys_path.exists():  # before enrolling: a join code is used up by the hub
        raise KeyFileError(f"{keys_path} exists: refusing to overwrite a key file")
    url = hub_url(url)
    home_key = SigningKey.generate()
    meters = [Meter(kind, kind, SigningKey.generate()) for kind in METER_KINDS]
    async with aiohttp.ClientSession() as session:
        api = HubApi(HubClient(session, url))
        try:
            enrolled = await api.enrol(code.strip(), home_key, meters)
        except HubUnreachable as err:
            print(f"gridcoop-home: cannot reach the hub: {err}", file=sys.stderr)
            return 1
        except HubError as err:
            print(f"gridcoop-home: the hub refused the join code: {err}", file=sys.stderr)
            return 1
    keys = HomeKeys(url, enrolled.home_id, home_key, {m.kind: m.key for m in meters})
    save_keys(keys_path, keys)
    name = enrolled.name or enrolled.home_id
    print(f"Joined as {name} ({enrolled.home_id}); keys in {keys_path}")
    return 0


def run(config_path: Path) -> int:
    config = load_config(config_path)
    keys = load_keys(config.keys)
    missing = [m.kind for m in config.meters if m.kind not in keys.meters]
    if missing:
        raise ConfigError(f"meters: {config.keys} has no key for the {missing[0]!r} meter")
    if config.mqtt is not None:
        require_mqtt()
    asyncio.run(_run(config, keys))
    return 0


async def _run(config: AgentConfig, keys: HomeKeys) -> None:
    state = HomeState()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    mqtt = None if config.mqtt is None else MqttLink(config.mqtt, state, f"gridcoop-{keys.home_id}")
    metering = Metering(config.meters, keys.meters, state, config.state_file)
    async with aiohttp.ClientSession() as session:
        api = HubApi(HubClient(session, keys.hub_url, home_key=keys.home_key))
        agent = Agent(config, api, metering, state, mqtt)
        LOGGER.info("Home %s on %s: running", keys.home_id, keys.hub_url)
        task = asyncio.create_task(agent.run())
        await stop.wait()
        LOGGER.info("Stopping")
        if mqtt is not None:
            await mqtt.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await metering.close()
