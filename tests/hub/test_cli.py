"""The operator's command line: invite homes, list and revoke them, run the live demo."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from gridcoop_home.client.hub import HubClient, HubError, Meter
from gridcoop_home.protocol.enrolment import build_enrolment, parse_enrolment
from gridcoop_home.protocol.keys import SigningKey

from hub.cli import main
from hub.config import HubConfig
from hub.store import Store
from tests.hub.server.support import conformance_problems, start_hub

REPO = Path(__file__).resolve().parents[2]
CODE = re.compile(r"Join code for '(?:[^']+)': ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})$", re.M)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,  # a guard against a hang: the demo stops itself after --duration
        check=False,
    )


def invite(capsys: pytest.CaptureFixture[str], db_url: str, name: str = "House 12") -> str:
    assert main(["--log-level", "warning", "invite", name, "--bus", "7", "--db", db_url]) == 0
    [code] = CODE.findall(capsys.readouterr().out)
    return code


async def enrol_over_http(db_url: str, code: str, meters: list[Meter]) -> dict[str, object]:
    """Serve a hub on that database and enrol through the real client; the code works once."""
    store = await Store.open(db_url)
    async with aiohttp.ClientSession() as session:
        hub = await start_hub(HubConfig(), store, time.time, session, db_url)
        try:
            answer = await hub.client().enrol(code, SigningKey.generate(), meters)
            with pytest.raises(HubError) as reused:
                await hub.client().enrol(code, SigningKey.generate(), [])
            assert reused.value.reason == "used_join_code"
            assert (await HubClient(session, hub.url).health())["status"] == "ok"
        finally:
            await hub.stop()
    assert conformance_problems(hub.exchanges) == []
    return answer


async def enrol_directly(db_url: str, code: str, meters: dict[str, tuple[str, SigningKey]]) -> str:
    store = await Store.open(db_url)
    try:
        body = build_enrolment(code, SigningKey.generate(), meters)
        home = await store.enrol(parse_enrolment(body), int(time.time() * 1000))
    finally:
        await store.close()
    return home.home_id


def test_invite_prints_a_join_code_that_enrols(db_url: str) -> None:
    done = run_cli("invite", "House 12", "--bus", "7", "--db", db_url)

    assert done.returncode == 0, done.stderr
    [code] = CODE.findall(done.stdout)
    assert "Join code for 'House 12': " in done.stdout
    assert "usable once" in done.stdout
    grid = Meter("grid", "grid", SigningKey.generate())
    answer = asyncio.run(enrol_over_http(db_url, code, [grid]))
    home = answer["home"]
    assert isinstance(home, dict)
    assert (home["name"], home["bus"]) == ("House 12", 7)
    assert grid.key.key_id in {key["key_id"] for key in home["keys"]}


def test_homes_list_shows_each_home_and_its_keys(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    grid, pv = SigningKey.generate(), SigningKey.generate()
    home_id = asyncio.run(
        enrol_directly(db_url, invite(capsys, db_url), {"grid": ("grid", grid), "roof": ("pv", pv)})
    )

    assert main(["--log-level", "warning", "homes", "--db", db_url, "list"]) == 0
    out = capsys.readouterr().out

    lines = out.splitlines()
    assert re.fullmatch(rf"{home_id}\s+'House 12'\s+bus=7\s+active", lines[0])
    assert len(lines) == 4  # the home, then its home key and two meter keys
    assert re.search(rf"^\s+{grid.key_id}\s+grid\s+'grid'\s+active$", out, re.M)
    assert re.search(rf"^\s+{pv.key_id}\s+pv\s+'roof'\s+active$", out, re.M)
    assert re.search(r"^\s+[0-9a-f]{32}\s+home\s+'home'\s+active$", out, re.M)


def test_homes_without_subcommand_lists(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    asyncio.run(enrol_directly(db_url, invite(capsys, db_url), {}))
    assert main(["--log-level", "warning", "homes", "--db", db_url]) == 0
    assert "'House 12'  bus=7  active" in capsys.readouterr().out


def test_homes_revoke_marks_the_home_and_its_keys_revoked(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    keep = asyncio.run(enrol_directly(db_url, invite(capsys, db_url, "Keep"), {}))
    gone = asyncio.run(
        enrol_directly(db_url, invite(capsys, db_url), {"grid": ("grid", SigningKey.generate())})
    )

    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke", gone]) == 0
    assert f"revoked home {gone}" in capsys.readouterr().out
    assert main(["--log-level", "warning", "homes", "--db", db_url, "list"]) == 0
    out = capsys.readouterr().out

    assert re.search(rf"^{gone}\s+'House 12'\s+bus=7\s+REVOKED$", out, re.M)
    assert re.search(rf"^{keep}\s+'Keep'\s+bus=7\s+active$", out, re.M)
    gone_keys = out.split(gone)[1].splitlines()[1:3]
    assert len(gone_keys) == 2
    assert all(line.rstrip().endswith("revoked") for line in gone_keys)


def test_homes_revoke_of_an_unknown_or_already_revoked_home_exits_1(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    home_id = asyncio.run(enrol_directly(db_url, invite(capsys, db_url), {}))
    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke", "nobody"]) == 1
    assert "no active home nobody" in capsys.readouterr().out
    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke", home_id]) == 0
    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke", home_id]) == 1


def test_homes_revoke_key_revokes_only_that_key(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    grid, pv = SigningKey.generate(), SigningKey.generate()
    asyncio.run(
        enrol_directly(db_url, invite(capsys, db_url), {"grid": ("grid", grid), "pv": ("pv", pv)})
    )

    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke-key", pv.key_id]) == 0
    assert f"revoked key {pv.key_id}" in capsys.readouterr().out
    main(["--log-level", "warning", "homes", "--db", db_url, "list"])
    out = capsys.readouterr().out

    assert re.search(rf"{pv.key_id}\s+pv\s+'pv'\s+revoked$", out, re.M)
    assert re.search(rf"{grid.key_id}\s+grid\s+'grid'\s+active$", out, re.M)
    assert "'House 12'  bus=7  active" in out


def test_homes_revoke_key_of_an_unknown_key_exits_1(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    invite(capsys, db_url)  # the database exists (see test_read_only_commands_...)
    unknown = SigningKey.generate().key_id
    assert main(["--log-level", "warning", "homes", "--db", db_url, "revoke-key", unknown]) == 1
    assert f"no active key {unknown}" in capsys.readouterr().out


def test_homes_accepts_db_after_the_subcommand_like_invite_does(
    capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    asyncio.run(enrol_directly(db_url, invite(capsys, db_url), {}))
    assert main(["--log-level", "warning", "homes", "list", "--db", db_url]) == 0
    assert "'House 12'" in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_runs_a_neighbourhood_and_prints_cleared_intervals(tmp_path: Path) -> None:
    started = time.monotonic()
    done = run_cli(
        "--log-level",
        "warning",
        "demo",
        "--homes",
        "4",
        "--interval-seconds",
        "3",
        "--duration",
        "12",
        "--port",
        str(free_port()),
        "--db",
        f"sqlite:///{tmp_path / 'demo.db'}",
    )

    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started <= 20
    assert "4 homes enrolled" in done.stdout
    cleared = re.findall(
        r"^simulated \d\d:\d\d: (\d+) bids, local price (?:\d+ c/kWh|no local trade), "
        r"local volume \d+ Wh",
        done.stdout,
        re.M,
    )
    assert cleared, done.stdout
    assert max(int(bids) for bids in cleared) >= 1
