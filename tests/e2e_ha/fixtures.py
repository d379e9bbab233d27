"""What each end-to-end module's fixtures run: a hub and a stock Home Assistant, started for the
module and stopped after it (its output printed when it fails to start).

    @pytest.fixture(scope="module")
    def hub(tmp_path_factory):
        with running_hub(tmp_path_factory, HUB_TOML) as served:
            yield served
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.e2e_ha.harness import Hub, start_hub
from tests.e2e_ha.home_assistant import HomeAssistant, StockVenv, new_home_assistant


@contextmanager
def running_hub(tmp_path_factory: pytest.TempPathFactory, config_toml: str) -> Iterator[Hub]:
    served = start_hub(tmp_path_factory.mktemp("hub"), config_toml)
    try:
        yield served
    finally:
        served.stop()


@contextmanager
def running_home_assistant(
    tmp_path_factory: pytest.TempPathFactory, scenario_yaml: str, index_url: str
) -> Iterator[HomeAssistant]:
    """A stock Home Assistant, onboarded and running, the integration's requirement not yet
    installed (skipped, saying why, without .venv-hass)."""
    if not StockVenv().exists():
        pytest.skip("no stock Home Assistant: scripts/bootstrap all creates .venv-hass")
    ha = new_home_assistant(tmp_path_factory.mktemp("ha-config"), scenario_yaml, index_url)
    try:
        ha.start()
        ha.onboard()
        ha.wait_running()
        yield ha
    except BaseException:
        print(ha.diagnose())
        raise
    finally:
        ha.stop()
