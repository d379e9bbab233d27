"""Markers for this folder: `e2e_ha` (a real Home Assistant and hub, as processes) and
`ledger_client` (gridcoop_home.client.ledger against the real hub app). Runs in the hub's venv
(.venv)."""

import pytest

# The ledger hub fixtures of the hub's own tests: a real hub app on a fake clock.
from tests.hub.ledger.conftest import clock, make_ledger_hub  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e_ha: a real Home Assistant and hub, as processes")
    config.addinivalue_line(
        "markers", "ledger_client: gridcoop_home.client.ledger against the hub app"
    )
