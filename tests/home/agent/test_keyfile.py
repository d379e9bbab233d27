"""The home's key file: owner-only, never overwritten, and every broken file named clearly."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from gridcoop_home.agent import cli
from gridcoop_home.agent.keyfile import FORMAT, HomeKeys, KeyFileError, load_keys, save_keys
from gridcoop_home.protocol.keys import SigningKey


def keys() -> HomeKeys:
    return HomeKeys(
        "http://hub.local:8787",
        "h_1",
        SigningKey.generate(),
        {"grid": SigningKey.generate(), "pv": SigningKey.generate()},
    )


def test_saved_keys_load_back_and_only_the_owner_can_read_them(tmp_path: Path) -> None:
    path = tmp_path / "home-keys.json"
    saved = keys()
    save_keys(path, saved)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keys(path)
    assert (loaded.hub_url, loaded.home_id) == ("http://hub.local:8787", "h_1")
    assert loaded.home_key.key_id == saved.home_key.key_id
    assert {k: v.key_id for k, v in loaded.meters.items()} == {
        k: v.key_id for k, v in saved.meters.items()
    }
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["home_key"] == saved.home_key.to_text()


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "home-keys.json"
    path.write_text("the first home's keys")
    with pytest.raises(KeyFileError, match="exists: refusing to overwrite"):
        save_keys(path, keys())
    assert path.read_text() == "the first home's keys"


def test_join_refuses_an_existing_key_file_before_using_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "home-keys.json"
    path.write_text("{}")
    # No hub listens on port 9: had join enrolled first, it would fail with "cannot reach".
    code = cli.main(["join", "http://127.0.0.1:9", "CODE", "--keys", str(path)])
    assert code == 2
    assert "exists: refusing to overwrite" in capsys.readouterr().err


def test_join_names_an_unreachable_hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["join", "127.0.0.1:9", "CODE", "--keys", str(tmp_path / "k.json")])
    assert code == 1
    assert "cannot reach the hub" in capsys.readouterr().err
    assert not (tmp_path / "k.json").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other"}', "is not a GridCoop home key file"),
        ('{"format": "gridcoop-home-keys/1", "hub_url": "u", "home_id": "h"}', "home_key must be"),
        (
            '{"format": "gridcoop-home-keys/1", "hub_url": "u", "home_id": "h", "home_key": "x"}',
            "meters must map",
        ),
    ],
)
def test_a_broken_key_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "home-keys.json"
    path.write_text(content)
    with pytest.raises(KeyFileError, match=message):
        load_keys(path)


def test_a_bad_key_names_its_field(tmp_path: Path) -> None:
    data = keys().to_json()
    data["meters"]["grid"] = "AAAA"
    path = tmp_path / "home-keys.json"
    path.write_text(json.dumps(data))
    with pytest.raises(KeyFileError, match=r"meters\.grid: an Ed25519 private key is 32 bytes"):
        load_keys(path)
    data["meters"] = {"heatpump": keys().home_key.to_text()}
    path.write_text(json.dumps(data))
    with pytest.raises(KeyFileError, match=r"meters\.heatpump: kind must be one of"):
        load_keys(path)


def test_a_missing_key_file_says_to_join_first(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="run `gridcoop-home join` first"):
        load_keys(tmp_path / "nope.json")


def test_run_refuses_a_meter_the_key_file_has_no_key_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_keys(tmp_path / "home-keys.json", keys())  # grid and pv only
    config = tmp_path / "agent.toml"
    config.write_text('keys = "home-keys.json"\n[mqtt]\n[[meters]]\nkind = "ev"\n')
    assert cli.main(["run", "--config", str(config)]) == 2
    assert "has no key for the 'ev' meter" in capsys.readouterr().err


def test_hub_url_without_a_scheme_is_http() -> None:
    assert cli.hub_url(" hub.local:8787/ ") == "http://hub.local:8787"
    assert cli.hub_url("https://hub.example") == "https://hub.example"
