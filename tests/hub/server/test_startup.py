"""What a hub does to its process when it starts."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest

from hub.config import load_config
from hub.server import app as app_module
from hub.store import Store
from tests.hub.server.conftest import MakeHub


async def test_a_started_hub_takes_what_it_holds_out_of_full_garbage_collections(
    make_hub: MakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "_FROZEN", False)  # as in a fresh `serve` process
    gc.unfreeze()
    assert gc.get_freeze_count() == 0

    hub = await make_hub()

    assert gc.get_freeze_count() > 0  # a full collection no longer scans these
    assert (await hub.raw("GET", "/health")).status == 200


async def test_a_restarted_hub_keeps_the_dashboards_fee_and_logs_that_it_overrides_hub_toml(
    make_hub: MakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one order of precedence (docs/hub/configuration.md#precedence): the dashboard's
    stored settings win over hub.toml, and the start says so for each one."""
    db_path = tmp_path / "restart.db"
    store = await Store.open(f"sqlite:///{db_path}")
    await store.put_setting("fee_per_kwh", 2, 0)  # as the admin area stores it
    await store.close()
    config_file = tmp_path / "hub.toml"
    config_file.write_text("fee_per_kwh = 5\n")

    hub = await make_hub(load_config(config_file), db_path=db_path)

    info = await hub.raw("GET", "/api/v1/info")
    assert info.body["fee_per_kwh"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings.count("fee_per_kwh: 2 from the dashboard (hub.toml says 5)") == 1
