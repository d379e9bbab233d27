"""`python -m hub` / `gridcoop-hub`: serve the hub, invite and manage homes, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from hub.cli_settings import add_parser as add_settings_parser
from hub.community.cli import add_parser as add_community_parser
from hub.config import ConfigError, HubConfig, load_config
from hub.config_schema import check_admin_token_env
from hub.extras import MissingExtra, require_extra
from hub.logs import get_logger, setup_logging
from hub.server.admin import ADMIN_TOKEN_ENV
from hub.server.app import ScaleOut, create_app
from hub.server.leader import asyncpg_dsn, leadership_for
from hub.service.network import network_warnings
from hub.sim.cli import add_parser as add_simulate_parser  # hub.sim imports nothing heavy
from hub.startup import (
    StartupError,
    check_database,
    check_ledger,
    check_port,
    listen_error,
    open_store,
    sqlite_file,
)
from hub.store import DEFAULT_DB_URL

if TYPE_CHECKING:
    from gridcoop_home.ledger.heads import SignedHead

_LOGGER = get_logger("hub")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridcoop-hub", description="GridCoop neighbourhood hub")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log-format", default="json", choices=["json", "text"])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub API and the market")
    _db_option(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--config", type=Path, help="TOML file (see docs/hub/configuration.md)")
    serve.add_argument(
        "--no-ledger", action="store_true", help="run the market without the token ledger"
    )
    serve.add_argument(
        "--leader-poll",
        type=float,
        default=1.0,
        help="seconds between a follower's attempts to take over leadership (default 1)",
    )

    invite = sub.add_parser("invite", help="print a one-time join code for a new home")
    invite.add_argument("name", help='display name, e.g. "House 12"')
    invite.add_argument("--bus", type=int, help="feeder bus the home is connected to")
    invite.add_argument("--ttl-hours", type=float, default=24.0, help="code lifetime (default 24)")
    invite.add_argument(
        "--config", type=Path, help="the hub's TOML file: --bus must be a bus of its feeder"
    )
    _db_option(invite)

    homes = sub.add_parser("homes", help="list homes, revoke a home or one of its keys")
    _db_option(homes)
    homes_sub = homes.add_subparsers(dest="homes_command")
    homes_list = homes_sub.add_parser("list", help="list enrolled homes and their keys (default)")
    revoke = homes_sub.add_parser("revoke", help="revoke a home and all its keys")
    revoke.add_argument("home_id")
    revoke_key = homes_sub.add_parser("revoke-key", help="revoke one device key")
    revoke_key.add_argument("key_id")
    for sub_parser in (homes_list, revoke, revoke_key):  # --db before or after the subcommand
        _db_option(sub_parser, default=argparse.SUPPRESS)

    demo = sub.add_parser("demo", help="a live demo neighbourhood on the embedded default store")
    demo.add_argument("--homes", type=int, default=12)
    demo.add_argument("--interval-seconds", type=int, default=15)
    demo.add_argument(
        "--duration",
        type=float,
        default=0,
        help="stop after this many seconds (0 = run until Ctrl-C)",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8787)
    demo.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    demo.add_argument("--seed", type=int, default=1)
    sub.add_parser(
        "admin-token", help="print a new admin token for the dashboard and its config line"
    )
    _ledger_commands(sub)
    add_settings_parser(sub, f"database URL (default {DEFAULT_DB_URL})")
    add_simulate_parser(sub)
    add_community_parser(sub)
    from hub.ops.cli import add_parsers as add_operator_parsers  # statements, backup, restore

    add_operator_parsers(sub)
    return parser


def _ledger_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify", help="audit the ledger: every hash, Merkle root, signature and balance"
    )
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--db", default=DEFAULT_DB_URL, help=f"database URL ({DEFAULT_DB_URL})")
    source.add_argument("--export", type=Path, help="a file from GET /api/v1/ledger/export")
    verify.add_argument("--backend", default="auto", help="BLS backend (auto, arkworks, py_ecc...)")
    verify.add_argument(
        "--skip-meter-signatures",
        action="store_true",
        help="trust the meters' Ed25519 signatures (checked at ingest and by witnesses)",
    )
    verify.add_argument(
        "--heads",
        action="append",
        default=[],
        metavar="FILE_OR_URL",
        help="signed heads that witnesses or homes kept (JSON lines, or a witness's /heads URL);"
        " fails on any block that differs from one (repeatable)",
    )
    witness = sub.add_parser("witness", help="follow a hub's chain, re-verify and co-sign blocks")
    witness.add_argument("--hub", required=True, help="hub URL, e.g. http://hub.local:8787")
    witness.add_argument("--key", type=Path, required=True, help="BLS key file (created if new)")
    witness.add_argument(
        "--home-key", type=Path, help="enrolled home key file: registers this witness for it"
    )
    witness.add_argument("--name", default="witness")
    witness.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    witness.add_argument("--backend", default="auto", help="BLS backend")
    witness.add_argument(
        "--data-dir", type=Path, help="the witness's memory (default: KEY-data/ next to the key)"
    )
    witness.add_argument(
        "--listen",
        default="127.0.0.1:8790",
        help="HOST:PORT of the witness's own endpoint (/status, /heads, /equivocations), or off",
    )
    witness.add_argument(
        "--trust-hub-history",
        action="store_true",
        help="accept blocks this key signed that the data directory does not remember",
    )


def _db_option(parser: argparse.ArgumentParser, default: str = DEFAULT_DB_URL) -> None:
    # SUPPRESS on a subcommand keeps it from overwriting a --db given before the subcommand.
    parser.add_argument("--db", default=default, help=f"database URL (default {DEFAULT_DB_URL})")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        return _run(args)
    except ConfigError as err:
        print(f"gridcoop-hub: configuration error: {err}", file=sys.stderr)
    except (StartupError, MissingExtra) as err:
        print(f"gridcoop-hub: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        return 0
    return 2


def _run(args: argparse.Namespace) -> int:
    """Run one command; errors an operator can fix are raised for main() to print."""
    if args.command in ("verify", "witness"):
        _check_backend(args.backend)
    if args.command == "serve":
        asyncio.run(
            serve(
                args.db,
                args.host,
                args.port,
                args.config,
                not args.no_ledger,
                args.leader_poll,
            )
        )
    elif args.command == "invite":
        if args.bus is not None:
            bus_error = _bus_error(args.config, args.bus)
            if bus_error:
                print(f"invalid --bus: {bus_error}")
                return 2
        asyncio.run(invite(args.db, args.name, args.bus, args.ttl_hours))
    elif args.command == "homes":
        return asyncio.run(homes(args.db, args.homes_command or "list", args))
    elif args.command == "demo":
        _demo(args)
    elif args.command == "admin-token":
        from hub.server.admin import admin_token_text, new_admin_token

        print(admin_token_text(new_admin_token()))
    elif args.command == "simulate":
        require_extra("sim", "gridcoop-hub simulate")
        from hub.sim.cli import run as run_simulation

        return run_simulation(args)
    elif args.command == "settings":
        from hub.cli_settings import run as run_settings

        return asyncio.run(run_settings(args.db or DEFAULT_DB_URL, args))
    elif args.command == "verify":
        return _verify(args)
    elif args.command == "witness":
        return _witness(args)
    elif args.command == "community":
        from hub.community.cli import run as run_community

        return run_community(args)
    elif args.command in ("statements", "backup", "restore"):
        from hub.ops.cli import run as run_operator_command

        return run_operator_command(args)
    return 0


def _demo(args: argparse.Namespace) -> None:
    from hub.demo import run_demo

    demo = run_demo(
        homes=args.homes,
        interval_seconds=args.interval_seconds,
        duration=args.duration,
        host=args.host,
        port=args.port,
        db_url=args.db,
        seed=args.seed,
    )
    try:
        asyncio.run(demo)
    except OSError as err:
        raise listen_error(err, args.host, args.port) from err


def _check_backend(name: str) -> None:
    if name == "arkworks":
        require_extra("ledger-native", "the arkworks BLS backend")


def _bus_error(config_path: Path | None, bus: int) -> str | None:
    """Why `bus` cannot be given to a home (None when it can); with --config, checked against
    the configured feeder."""
    from hub.grid import FeederError
    from hub.service.network import validate_bus

    config = load_config(config_path) if config_path is not None else HubConfig()
    try:
        validate_bus(config, bus)
    except FeederError as err:
        return str(err)
    return None


def _verify(args: argparse.Namespace) -> int:
    from hub.ledger.service import commands

    meter_signatures = not args.skip_meter_signatures
    try:
        heads = commands.load_heads(args.heads)
    except commands.HeadsError as err:
        print(err)
        return commands.EXIT_ERROR
    if args.export is not None:
        return commands.verify_export(args.export, args.backend, meter_signatures, heads)
    return asyncio.run(_verify_db(args.db, args.backend, meter_signatures, heads))


async def _verify_db(
    db_url: str, backend: str, meter_signatures: bool, heads: Sequence[SignedHead]
) -> int:
    from hub.ledger.service import commands
    from hub.store.ledger_store import LedgerStore, all_holdings

    store = await open_store(db_url, must_exist=True)
    try:
        ledger = LedgerStore(store)
        return await commands.verify_rows(
            ledger.iter_chain(),
            lambda: all_holdings(ledger),
            backend,
            meter_signatures,
            heads,
            ledger.equivocations,
        )
    finally:
        await store.close()


def _witness(args: argparse.Namespace) -> int:
    from hub.ledger.service.commands import parse_listen, run_witness

    try:
        listen = parse_listen(args.listen)
    except ValueError as err:
        print(err)
        return 2
    return asyncio.run(
        run_witness(
            args.hub,
            args.key,
            args.home_key,
            args.name,
            args.poll,
            args.backend,
            args.data_dir,
            listen,
            args.trust_hub_history,
        )
    )


async def serve(
    db_url: str,
    host: str,
    port: int,
    config_path: Path | None,
    ledger: bool = True,
    leader_poll: float = 1.0,
) -> None:
    """One worker. Several may serve one PostgreSQL database: they elect a leader that clears
    and seals, and relay WebSocket pushes through LISTEN/NOTIFY (docs/hub/scale_out.md)."""
    config = load_config(config_path, ledger_by_default=ledger, limits_by_default=True)
    check_admin_token_env(ADMIN_TOKEN_ENV, os.environ.get(ADMIN_TOKEN_ENV))
    _check_backend(config.ledger.bls_backend)
    check_database(db_url, must_exist=False)
    check_port(host, port)  # before the start-up creates the database and the ledger key
    store = await open_store(db_url, must_exist=False)
    try:
        if config.ledger.enabled:
            await check_ledger(store, config.ledger, db_url)
    except BaseException:
        await store.close()
        raise
    for warning in network_warnings(config):
        _LOGGER.warning(warning)
    scale_out = ScaleOut(
        leadership_for(db_url),
        None if store.is_sqlite else asyncpg_dsn(db_url),
        poll_seconds=leader_poll,
    )
    app = create_app(config, store, scale_out=scale_out)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as err:
            raise listen_error(err, host, port) from err
        _LOGGER.info("hub serving", extra={"url": f"http://{host}:{port}", "db": db_url})
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await stop.wait()
        _LOGGER.info("hub stopping")
    finally:
        await runner.cleanup()
        await store.close()


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM (systemd, kill) and SIGINT (Ctrl-C, also when a shell started the hub in the
    background and ignores SIGINT) stop the hub cleanly: serve's `finally` closes the server and
    the database, and the process exits with 0."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def invite(db_url: str, name: str, bus: int | None, ttl_hours: float) -> None:
    check_database(db_url, must_exist=False)
    path = sqlite_file(db_url)
    if path is not None and not path.exists():
        print(
            f"gridcoop-hub: a new database at {path} (serve must use the same --db)",
            file=sys.stderr,
        )
    store = await open_store(db_url, must_exist=False)
    try:
        now = int(time.time() * 1000)
        code = await store.create_join_code(name, bus, now, int(ttl_hours * 3600 * 1000))
    finally:
        await store.close()
    print(f"Join code for {name!r}: {code}")
    print(f"Valid for {ttl_hours:g} h, usable once. Enter it with the hub URL in Home Assistant.")


async def homes(db_url: str, command: str, args: argparse.Namespace) -> int:
    store = await open_store(db_url, must_exist=True)
    try:
        now = int(time.time() * 1000)
        if command == "revoke":
            if not await store.revoke_home(args.home_id, now):
                print(f"no active home {args.home_id}")
                return 1
            print(f"revoked home {args.home_id} and all its keys")
        elif command == "revoke-key":
            if not await store.revoke_key(args.key_id, now):
                print(f"no active key {args.key_id}")
                return 1
            print(f"revoked key {args.key_id}")
        else:
            for home in await store.list_homes():
                status = "REVOKED" if home.revoked else "active"
                print(f"{home.home_id}  {home.name!r}  bus={home.bus}  {status}")
                for key in home.keys:
                    key_status = "revoked" if key.revoked else "active"
                    print(f"    {key.key_id}  {key.kind:<8} {key.name!r}  {key_status}")
    finally:
        await store.close()
    return 0
