"""`gridcoop-hub --log-format json|text` (docs/hub/quick_start.md): JSON lines by default, for log
shippers, or plain text for a person at a terminal; both on stderr, at the default level (INFO)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from hub.cli import main
from tests.hub.scale.support import REPO, free_port, hub_command

STARTED = "hub serving"


def serve_log(tmp_path: Path, *global_options: str) -> tuple[str, str]:
    """Start `serve`, stop it once it says it serves; its (stdout, stderr)."""
    port = free_port()
    command = hub_command(*global_options, "serve", "--db", f"sqlite:///{tmp_path / 'hub.db'}")
    process = subprocess.Popen(
        [*command, "--port", str(port), "--no-ledger"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break  # it stopped by itself
            lines.append(line)
            if STARTED in line:
                break
    finally:
        process.terminate()
        out, rest = process.communicate(timeout=30)
    return out, "".join(lines) + rest


def test_the_default_log_format_is_one_json_object_per_line(tmp_path: Path) -> None:
    out, err = serve_log(tmp_path)
    records = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    started = next(r for r in records if r["message"] == STARTED)
    assert started["level"] == "info"
    assert started["logger"] == "hub"
    assert started["db"].startswith("sqlite:///")  # structured fields are fields
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", started["time"])
    assert out == "", "logs go to stderr"


def test_log_format_text_writes_lines_for_people(tmp_path: Path) -> None:
    out, err = serve_log(tmp_path, "--log-format", "text")
    line = next(line for line in err.splitlines() if STARTED in line)
    assert re.match(r"\d\d:\d\d:\d\d INFO +hub serving url=http://127\.0\.0\.1:\d+ db=sqlite", line)
    assert not any(line.startswith("{") for line in err.splitlines())
    assert out == ""


@pytest.mark.parametrize("wrong", ["xml", "JSON"])
def test_another_log_format_is_refused_naming_the_choices(
    wrong: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--log-format", wrong, "invite", "x"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--log-format: invalid choice" in err
    assert "'json', 'text'" in err
