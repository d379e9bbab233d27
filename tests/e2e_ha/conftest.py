"""Markers and shared fixtures for this folder: `e2e_ha` (a stock Home Assistant and a hub, as
processes) and `ledger_client` (gridcoop_home.client.ledger against the real hub app). Runs in the
hub's venv (.venv); Home Assistant runs from .venv-hass.

Session fixtures: `wheels` (both distributions built from the working tree, once per run) and
`package_index` (those wheels as a PEP 503 index on 127.0.0.1, for Home Assistant's installer).
"""

from collections.abc import Iterator

import pytest

from tests.e2e_ha.package_index import PackageIndex, Wheels, build_wheels, write_simple_index

# The ledger hub fixtures of the hub's own tests: a real hub app on a fake clock.
from tests.hub.ledger.conftest import clock, make_ledger_hub  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e_ha: a real Home Assistant and hub, as processes")
    config.addinivalue_line(
        "markers", "ledger_client: gridcoop_home.client.ledger against the hub app"
    )


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    """gridcoop-home and gridcoop-hub wheels of the code as it is on disk now."""
    return build_wheels(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def package_index(
    tmp_path_factory: pytest.TempPathFactory, wheels: Wheels
) -> Iterator[PackageIndex]:
    """The wheels served as a package index on 127.0.0.1 (a free port) while the session runs."""
    root = tmp_path_factory.mktemp("index")
    simple_path = write_simple_index(root, [wheels.home, wheels.hub])
    with PackageIndex(root, simple_path) as index:
        yield index
