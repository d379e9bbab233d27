"""What a hub does to its process when it starts."""

from __future__ import annotations

import gc

import pytest

from hub.server import app as app_module
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
