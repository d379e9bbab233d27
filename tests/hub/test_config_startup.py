"""`gridcoop-hub` refuses to start what cannot be right, in one line on stderr and exit code 2:
a busy port, a missing database folder or file, a ledger setting its chain's genesis fixed
otherwise, a lost ledger key, a missing extra. The messages are listed in
docs/hub/configuration.md#errors."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli import main
from hub.ledger.service.sealer import LedgerService
from hub.ledger.service.settings import LedgerSettings
from hub.store import Store
from hub.store.ledger_store import LedgerStore

REPO = Path(__file__).resolve().parents[2]


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI, expect exit code 2 and return its one-line message."""
    assert main(["--log-level", "warning", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gridcoop-hub: "), err
    assert "Traceback" not in err
    return err.strip()


def test_serve_on_a_busy_port_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        key = tmp_path / "hub.key"
        config = tmp_path / "hub.toml"
        config.write_text(f'[ledger]\nkey_file = "{key}"\n')
        message = fails(
            capsys, "serve", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'hub.db'}",
            "--port", str(port),
        )  # fmt: skip
    assert message == (
        f"gridcoop-hub: cannot listen on 127.0.0.1:{port}: the port is already in use"
        " (another hub? stop it or choose another --port)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.toml"]  # no database, no key


def test_an_admin_token_hash_in_the_environment_is_checked_like_the_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDCOOP_ADMIN_TOKEN_SHA256", "gcadm_the-token-itself")

    message = fails(capsys, "serve", "--db", f"sqlite:///{tmp_path / 'hub.db'}")

    assert message == (
        "gridcoop-hub: configuration error: the environment variable GRIDCOOP_ADMIN_TOKEN_SHA256"
        " must be 64 hex digits from `gridcoop-hub admin-token`, got 22 characters"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_database_folder_that_does_not_exist_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    for argv in (["serve", "--no-ledger"], ["invite", "House 1"]):
        message = fails(capsys, *argv, "--db", f"sqlite:///{folder / 'hub.db'}")
        assert f"the database directory {folder} does not exist" in message
        assert f"mkdir -p {folder}" in message
    assert not folder.exists()


@pytest.mark.parametrize(
    "argv", [["verify"], ["homes"], ["homes", "list"], ["homes", "revoke", "3f9c0a1b2c3d4e5f"]]
)
def test_read_only_commands_never_create_a_database(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # "from another directory": the default ./gridcoop-hub.db

    message = fails(capsys, *argv)

    assert message.startswith(f"gridcoop-hub: no database at {tmp_path / 'gridcoop-hub.db'}: ")
    assert list(tmp_path.iterdir()) == []


def test_invite_says_when_it_creates_a_new_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "hub.db"
    assert main(["--log-level", "warning", "invite", "House 1", "--db", f"sqlite:///{path}"]) == 0
    assert f"a new database at {path}" in capsys.readouterr().err
    assert main(["--log-level", "warning", "invite", "House 2", "--db", f"sqlite:///{path}"]) == 0
    assert capsys.readouterr().err == ""


def test_a_database_server_that_refuses_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("asyncpg")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    message = fails(capsys, "homes", "--db", f"postgresql://hub:secret@127.0.0.1:{port}/hub")
    assert message.startswith("gridcoop-hub: cannot open the database postgresql://hub:***@")
    assert "secret" not in message


async def start_chain(db_url: str, key_file: Path, threshold: int) -> None:
    store = await Store.open(db_url)
    try:
        settings = LedgerSettings(enabled=True, key_file=str(key_file), threshold=threshold)
        await LedgerService(LedgerStore(store), settings).start()  # genesis
    finally:
        await store.close()


@pytest.fixture
def chain(tmp_path: Path) -> tuple[str, Path]:
    """A database whose ledger began with threshold 1, and its key file."""
    db_url, key_file = f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "hub.key"
    asyncio.run(start_chain(db_url, key_file, threshold=1))
    return db_url, key_file


def serve_with(tmp_path: Path, db_url: str, ledger_table: str) -> list[str]:
    config = tmp_path / "hub.toml"
    config.write_text(f"[ledger]\n{ledger_table}\n")
    return ["serve", "--db", db_url, "--config", str(config), "--port", str(free_port())]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_ledger_rule_fixed_at_genesis_cannot_change_later(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, chain: tuple[str, Path]
) -> None:
    db_url, key_file = chain
    argv = serve_with(tmp_path, db_url, f'key_file = "{key_file}"\nthreshold = 2')

    message = fails(capsys, *argv)

    assert message == (
        f"gridcoop-hub: ledger.threshold is 2 in the configuration, but the ledger in {db_url}"
        " began with threshold = 1: a chain's rules are fixed in its genesis block, so every"
        " verifier applies the same ones. Set threshold = 1 in [ledger], or start a new chain in"
        " a new database"
    )


def test_a_lost_ledger_key_is_not_silently_replaced(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    chain: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url, _key_file = chain
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the default key_file is relative: a new one would appear here

    message = fails(capsys, *serve_with(tmp_path, db_url, ""))

    assert message.startswith(
        f"gridcoop-hub: ledger.key_file {elsewhere / 'gridcoop-ledger.key'} does not exist, but"
        f" the ledger in {db_url} was started with a key"
    )
    assert list(elsewhere.iterdir()) == []
    # Another hub's key (a valid key file, not this chain's) is refused as well.
    asyncio.run(start_chain(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "new.key", 1))
    message = fails(capsys, *serve_with(tmp_path, db_url, f'key_file = "{tmp_path / "new.key"}"'))
    assert "holds another key than the one the ledger" in message


def run_without(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter where `module` cannot be imported (as without its extra)."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from hub.cli import main\n"
        f"raise SystemExit(main({list(argv)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("pandas", ["simulate", "--days", "1"], "sim"),
        ("asyncpg", ["homes", "--db", "postgresql://hub@127.0.0.1/hub"], "postgres"),
        ("py_arkworks_bls12381", ["verify", "--backend", "arkworks"], "ledger-native"),
    ],
)
def test_a_missing_extra_is_named_with_the_command_to_install_it(
    module: str, argv: list[str], extra: str
) -> None:
    done = run_without(module, *argv)

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"the '{extra}' extra ({module} is not installed)" in done.stderr
    assert f"pip install 'gridcoop-hub[{extra}]'" in done.stderr


def test_settings_lists_what_the_dashboard_stored_and_forget_lets_hub_toml_apply_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"

    async def store_fee() -> None:
        store = await Store.open(db_url)
        await store.put_setting("fee_per_kwh", 2, 0)
        await store.close()

    asyncio.run(store_fee())
    assert main(["--log-level", "warning", "settings", "--db", db_url]) == 0
    assert capsys.readouterr().out == "fee_per_kwh = 2\n"

    assert (
        main(["--log-level", "warning", "settings", "--db", db_url, "forget", "fee_per_kwh"]) == 0
    )
    assert capsys.readouterr().out == (
        "fee_per_kwh: forgotten\nhub.toml's values apply from the next start of the hub\n"
    )
    assert main(["--log-level", "warning", "settings", "--db", db_url, "forget", "threshold"]) == 2
    assert "not a dashboard setting: threshold" in capsys.readouterr().out
    assert main(["--log-level", "warning", "settings", "--db", db_url]) == 0
    assert capsys.readouterr().out.startswith("no stored settings")
