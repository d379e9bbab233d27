"""The agent ships in gridcoop-home without changing what Home Assistant installs: its MQTT
client is the optional extra `agent`, and without it the agent says which extra to install."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from gridcoop_home.agent import cli, mqtt
from gridcoop_home.agent.keyfile import HomeKeys, save_keys
from gridcoop_home.protocol.keys import SigningKey

REPO = Path(__file__).resolve().parents[3]


def project() -> dict[str, object]:
    data = tomllib.loads((REPO / "home" / "pyproject.toml").read_text())
    return dict(data["project"])


def test_the_command_and_its_extra_are_declared() -> None:
    meta = project()
    assert meta["scripts"] == {"gridcoop-home": "gridcoop_home.agent.cli:main"}
    extras = meta["optional-dependencies"]
    assert isinstance(extras, dict) and extras["agent"] == ["aiomqtt>=2.3"]


def test_the_base_install_gains_no_mqtt_dependency() -> None:
    deps = project()["dependencies"]
    assert isinstance(deps, list)
    assert not [d for d in deps if "mqtt" in d.lower()]


def test_without_the_extra_run_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mqtt, "HAVE_MQTT", False)
    key = SigningKey.generate()
    save_keys(tmp_path / "home-keys.json", HomeKeys("http://hub", "h_1", key, {"grid": key}))
    config = tmp_path / "agent.toml"
    config.write_text('keys = "home-keys.json"\n[mqtt]\n[[meters]]\nkind = "grid"\n')
    assert cli.main(["run", "--config", str(config)]) == 2
    assert "pip install 'gridcoop-home[agent]'" in capsys.readouterr().err


def test_the_project_venvs_install_the_extra_so_the_end_to_end_test_runs() -> None:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "aiomqtt>=2.3" in root["project"]["optional-dependencies"]["test"]
