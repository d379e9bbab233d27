"""`gridcoop-hub backup` and `restore`: a backup taken while homes keep writing holds every
committed row (the WAL included) in one file, restores, and its chain verifies; a database a
running hub has open is never replaced; the ledger key is named, and copied only when asked."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli import main
from hub.store import Store
from tests.hub.databases import throwaway_postgres
from tests.hub.ledger.conftest import MakeLedgerHub
from tests.hub.ledger.scenarios import trade
from tests.hub.server.support import FakeClock, Home, Hub
from tests.hub.test_cli import REPO, free_port, run_cli


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def count_or_zero(path: Path, table: str) -> int:
    """`count`, or 0 while the hub has not created the table yet."""
    try:
        return count(path, table)
    except sqlite3.OperationalError:
        return 0


def config_file(tmp_path: Path) -> Path:
    """The hub's TOML: where its ledger key is (ledger_config puts it in tmp_path)."""
    path = tmp_path / "hub.toml"
    path.write_text(f'[ledger]\nkey_file = "{tmp_path / "hub-ledger.key"}"\n')
    return path


async def keep_uploading(home: Home, meter: str, start_ms: int, stop: asyncio.Event) -> int:
    """Readings, ten a request, as fast as the hub takes them; how many it accepted."""
    accepted = 0
    for batch in itertools.count():
        if stop.is_set():
            return accepted
        first = batch * 10
        readings = [
            home.meter(meter).reading(1000 + n, 700 + n, start_ms + n)
            for n in range(first, first + 10)
        ]
        answer = await home.client.upload_readings(readings)
        accepted += int(answer["accepted"])
    return accepted


async def traded_hub(make_ledger_hub: MakeLedgerHub, clock: FakeClock, db: Path) -> Hub:
    hub = await make_ledger_hub(db_path=db)
    await trade(hub, clock)  # two homes, a cleared and settled interval: a chain of blocks
    return hub


async def test_a_backup_under_write_load_restores_and_its_chain_verifies(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = tmp_path / "live.db"
    hub = await make_ledger_hub(db_path=live)
    seller, buyer, interval = await trade(hub, clock)
    wal = Path(f"{live}-wal")
    assert wal.stat().st_size > 0  # committed data waits in the WAL: copying live.db loses it
    start_ms = (interval + 900) * 1000 + 1

    stop = asyncio.Event()
    writers = [
        asyncio.create_task(keep_uploading(seller, "grid", start_ms, stop)),
        asyncio.create_task(keep_uploading(seller, "pv", start_ms, stop)),
        asyncio.create_task(keep_uploading(buyer, "grid", start_ms, stop)),
    ]
    while count(live, "readings") < 60:  # the load is on
        await asyncio.sleep(0.05)
    before = count(live, "readings")
    backup = tmp_path / "backups" / "hub.db"
    backup.parent.mkdir()
    command = ["backup", str(backup), "--db", hub.db_url, "--config", str(config_file(tmp_path))]
    assert await asyncio.to_thread(main, command) == 0
    during = count(live, "readings")
    stop.set()
    accepted = sum(await asyncio.gather(*writers))
    out = capsys.readouterr().out
    assert f"written to {backup}" in out
    assert "it is the chain's validator 0 (the hub)" in out
    assert "the key is not in the backup (it is a secret)" in out
    assert accepted > 0 and during > before  # the hub kept writing while the backup ran

    # One self-contained file: moved alone elsewhere, it holds everything committed before.
    assert not Path(f"{backup}-wal").exists()
    alone = tmp_path / "elsewhere" / "copy.db"
    alone.parent.mkdir()
    shutil.copyfile(backup, alone)
    with capsys.disabled():
        copied = count(alone, "readings")
        print(f"\nreadings: {before} as the backup began, {copied} in it, {during} after")
    assert before <= count(alone, "readings") <= during
    assert count(alone, "homes") == 2

    restored = tmp_path / "restored" / "hub.db"
    restored.parent.mkdir()
    command = ["restore", str(alone), "--db", f"sqlite:///{restored}"]
    assert await asyncio.to_thread(main, [*command, "--config", str(config_file(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert f"restored {alone} to {restored}" in out
    assert "OK: " in out and "every hash, Merkle root, signature and balance recomputed" in out
    store = await Store.open(f"sqlite:///{restored}")
    try:
        homes = {home.home_id for home in await store.list_homes()}
    finally:
        await store.close()
    assert homes == {seller.home_id, buyer.home_id}
    assert count(restored, "readings") == count(alone, "readings")


async def test_restore_never_replaces_the_database_of_a_running_hub(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = tmp_path / "live.db"
    hub = await traded_hub(make_ledger_hub, clock, live)
    backup = tmp_path / "backup.db"
    assert await asyncio.to_thread(main, ["backup", str(backup), "--db", hub.db_url]) == 0
    readings = count(live, "readings")
    capsys.readouterr()

    command = ["restore", str(backup), "--db", hub.db_url]
    assert await asyncio.to_thread(main, command) == 2
    assert "already exists; stop the hub and give --force" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*command, "--force"]) == 2
    assert "is open in another process (a running hub?)" in capsys.readouterr().err
    assert count(live, "readings") == readings and (await hub.raw("GET", "/health")).status == 200

    await hub.stop()  # stopped: --force replaces it
    assert await asyncio.to_thread(main, [*command, "--force"]) == 0
    assert "OK: " in capsys.readouterr().out


async def test_the_ledger_key_is_copied_only_when_asked_and_owner_only(
    make_ledger_hub: MakeLedgerHub,
    clock: FakeClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = await traded_hub(make_ledger_hub, clock, tmp_path / "live.db")
    folder = tmp_path / "backups"
    folder.mkdir()
    config = ["--config", str(config_file(tmp_path))]
    command = ["backup", str(folder), "--db", hub.db_url, *config, "--include-ledger-key"]
    assert await asyncio.to_thread(main, command) == 0
    out = capsys.readouterr().out
    (database,) = folder.glob("gridcoop-hub-*Z.db")  # a directory: a timestamped file in it
    key = Path(f"{database}.ledger-key")
    assert key.read_bytes() == (tmp_path / "hub-ledger.key").read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "WARNING: " in out and "secret key" in out

    again = ["backup", str(database), "--db", hub.db_url, *config]
    assert await asyncio.to_thread(main, again) == 2
    assert "already exists; give another name, or --force" in capsys.readouterr().err

    other = tmp_path / "other.toml"
    other.write_text(f'[ledger]\nkey_file = "{tmp_path / "missing.key"}"\n')
    command = ["backup", str(tmp_path / "b.db"), "--db", hub.db_url, "--config", str(other)]
    assert await asyncio.to_thread(main, [*command, "--include-ledger-key"]) == 2
    assert "no key file at" in capsys.readouterr().err
    assert not (tmp_path / "b.db").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["backup", "b.db", "--db", "sqlite:///missing.db"], "no database at"),
        (["restore", "missing.db", "--db", "sqlite:///new.db"], "no backup file at missing.db"),
        (["restore", "hub.toml", "--db", "sqlite:///new.db"], "is not a readable SQLite database"),
        (["backup", "b.db", "--db", "mysql://x/y"], "only sqlite:/// and postgresql://"),
        (["backup", "nowhere/", "--db", "sqlite:///hub.toml"], "no directory"),
    ],
)
def test_bad_input_is_named_without_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hub.toml").write_text("fee_per_kwh = 1\n")
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("gridcoop-hub: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "missing.db").exists()


async def enrol_nobody(url: str) -> None:
    store = await Store.open(url)  # the hub's schema, and a row to dump
    try:
        await store.create_join_code("House", None, 0, 1000)
    finally:
        await store.close()


@pytest.mark.postgres
def test_postgresql_is_dumped_with_pg_dump_or_told_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    key = tmp_path / "hub-ledger.key"
    key.write_text('{"bls_secret_key": "' + "11" * 32 + '"}')
    config = ["--config", str(config_file(tmp_path))]
    with throwaway_postgres("backup") as url:
        asyncio.run(enrol_nobody(url))
        target = tmp_path / "hub.dump"
        assert main(["backup", str(target), "--db", url, *config, "--include-ledger-key"]) == 0
        assert target.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
        assert Path(f"{target}.ledger-key").read_bytes() == key.read_bytes()
        assert main(["backup", str(target), "--db", url]) == 2  # no silent overwrite

        monkeypatch.setattr(shutil, "which", lambda _name: None)
        assert main(["backup", str(tmp_path / "x"), "--db", url]) == 0
    out = capsys.readouterr().out
    assert "pg_dump --format=custom --file" in out and "pg_restore --dbname" in out
    assert "gridcoop-hub verify --db" in out


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_hub_process_under_load_is_backed_up_and_restored_by_other_processes(
    tmp_path: Path,
) -> None:
    """The issue's case as an operator meets it: `gridcoop-hub demo` (a hub process whose homes
    enrol, upload readings and bid every 2 s, with its ledger) keeps writing; `backup` and
    `restore` run as commands of their own."""
    live = tmp_path / "live.db"
    live_url = f"sqlite:///{live}"
    command = ["demo", "--homes", "6", "--interval-seconds", "2", "--duration", "60"]
    command += ["--port", str(free_port()), "--db", live_url]
    demo = subprocess.Popen(
        [sys.executable, "-m", "hub", "--log-level", "warning", *command],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: live.exists() and count_or_zero(live, "ledger_blocks") >= 3,
            45,
            "the demo hub to seal blocks",
        )
        assert Path(f"{live}-wal").stat().st_size > 0
        before = count(live, "readings")
        backup = tmp_path / "backup.db"
        done = run_cli("backup", str(backup), "--db", live_url)
        after = count(live, "readings")
        assert done.returncode == 0, done.stdout + done.stderr
        refused = run_cli("restore", str(backup), "--db", live_url, "--force")
        assert demo.poll() is None, demo.stderr.read() if demo.stderr else ""
    finally:
        demo.terminate()
        demo.wait(timeout=20)
    assert refused.returncode == 2 and "open in another process" in refused.stderr

    restored = tmp_path / "restored.db"
    done = run_cli("restore", str(backup), "--db", f"sqlite:///{restored}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: " in done.stdout
    assert count(restored, "homes") == 6
    assert before <= count(restored, "readings") <= after
