"""What the `gridcoop-hub` commands check before they touch anything: the database, the ledger's
fixed rules and key, the port. Each failure is one line naming the setting, path or port
(docs/hub/configuration.md#errors), never a traceback and never a silently created database."""

from __future__ import annotations

import errno
import json
import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from hub.extras import require_extra
from hub.ledger.accounts.params import LedgerParams
from hub.ledger.service.settings import LedgerSettings, genesis_conflicts
from hub.store import DEFAULT_DB_URL, Store
from hub.store.connections import is_sqlite_file
from hub.store.ledger_store import LedgerStore


class StartupError(RuntimeError):
    """The command cannot start; the message says why and what to do."""


def sqlite_file(db_url: str) -> Path | None:
    """The absolute path of a SQLite database file (None: PostgreSQL or in-memory)."""
    url = make_url(db_url)
    if not is_sqlite_file(url):
        return None
    return Path(url.database or "").expanduser().absolute()


def check_database(db_url: str, must_exist: bool) -> None:
    """Stop before opening a database that cannot be right: a URL that does not parse, a driver
    that is not installed, a folder that does not exist, or (with `must_exist`, for commands
    that only read or change what is there) a SQLite file that does not exist yet."""
    try:
        url = make_url(db_url)
    except ArgumentError as err:
        raise StartupError(f"--db {db_url!r} is not a database URL ({DEFAULT_DB_URL})") from err
    if url.get_backend_name() == "postgresql":
        require_extra("postgres")
        return
    path = sqlite_file(db_url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise StartupError(
            f"the database directory {path.parent} does not exist (--db {db_url}); "
            f"create it first: mkdir -p {path.parent}"
        )
    if must_exist and not path.exists():
        raise StartupError(
            f"no database at {path}: run the command in the directory where the hub runs "
            f"(`gridcoop-hub serve` keeps gridcoop-hub.db there) or give --db sqlite:///PATH"
        )


async def open_store(db_url: str, must_exist: bool) -> Store:
    """check_database, then open it; a server that refuses us is one line, not a traceback."""
    check_database(db_url, must_exist)
    try:
        return await Store.open(db_url)
    except (OSError, SQLAlchemyError) as err:
        shown = make_url(db_url).render_as_string(hide_password=True)
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise StartupError(f"cannot open the database {shown}: {reason}") from err


async def check_ledger(store: Store, settings: LedgerSettings, db_url: str) -> None:
    """A ledger that exists keeps the rules of its genesis block and the hub's key: refuse
    settings that differ from them and a key file that is missing or another one."""
    ledger = LedgerStore(store)
    entries = await ledger.block_entries(0)
    if not entries:
        return  # a new chain: its genesis takes the settings as they are
    genesis = json.loads(entries[0][1])
    params = LedgerParams.from_wire(genesis["params"])
    conflicts = genesis_conflicts(settings, params)
    if conflicts:
        name, wanted, fixed = conflicts[0]
        raise StartupError(
            f"ledger.{name} is {wanted} in the configuration, but the ledger in {db_url} began "
            f"with {name} = {fixed}: a chain's rules are fixed in its genesis block, so every "
            f"verifier applies the same ones. Set {name} = {fixed} in [ledger], or start a new "
            "chain in a new database"
        )
    hub_key = genesis.get("validator", {}).get("public_key")
    _check_key_file(Path(settings.key_file).absolute(), hub_key, settings.bls_backend, db_url)


def _check_key_file(path: Path, public_key: str | None, backend_name: str, db_url: str) -> None:
    if not path.exists():
        raise StartupError(
            f"ledger.key_file {path} does not exist, but the ledger in {db_url} was started "
            "with a key: run the hub from the directory it was started in, give key_file as an "
            "absolute path, or restore the key file from a backup (a new key cannot continue a "
            "chain)"
        )
    if public_key is None:
        return
    from gridcoop_home.ledger.bls import get_backend
    from gridcoop_home.ledger.keyfile import load_or_create_key

    try:
        secret = load_or_create_key(path)
    except ValueError as err:
        raise StartupError(f"ledger.key_file: {err}") from err
    if get_backend(backend_name).secret_to_public(secret).hex() != public_key:
        raise StartupError(
            f"ledger.key_file {path} holds another key than the one the ledger in {db_url} "
            "was started with: give the hub's own key file"
        )


def check_port(host: str, port: int) -> None:
    """Stop before anything is opened or created when host:port cannot be listened on (the
    server binds it only after its start-up, which creates the database and the ledger)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise StartupError(
            f"cannot listen on {host}:{port}: unknown host ({err.strerror})"
        ) from err
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server
            try:
                probe.bind(address)
            except OSError as err:
                raise listen_error(err, host, port) from err


def listen_error(err: OSError, host: str, port: int) -> StartupError:
    """A one-line reason why the hub cannot listen on host:port."""
    if err.errno == errno.EADDRINUSE:
        why = "the port is already in use (another hub? stop it or choose another --port)"
    elif err.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need privileges: choose --port 8787)"
    elif err.errno == errno.EADDRNOTAVAIL:
        why = "this machine has no such address (--host)"
    else:
        why = err.strerror or str(err)
    return StartupError(f"cannot listen on {host}:{port}: {why}")
