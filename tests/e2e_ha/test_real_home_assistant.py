"""A stock Home Assistant with the GridCoop integration, installed as a user installs it, against a
real hub, as processes.

The hub runs `python -m hub serve` (12-second intervals, ledger on) from the hub's venv. Home
Assistant is `.venv-hass` (only `homeassistant`): the test copies the integration into its config
folder as HACS does and serves the wheels of this working tree from a package index on
127.0.0.1, and Home Assistant installs `gridcoop-home` itself, under its own constraints, when the
integration is first needed (tests/e2e_ha/home_assistant.py).

- The install path: the requirement comes from our index, at our version, as the very wheel just
  built; its dependencies at Home Assistant's pins (pymodbus...); nothing of the hub; the
  integration loads and joins a hub; every server listens on 127.0.0.1 only.
- The market scenario: Home Assistant joins the hub through the config flow with a join code from
  `python -m hub invite`, adds a battery, a grid meter and a dishwasher (template and input
  entities) as device subentries, and waits until the market clears and dispatches to the home:
  automations in configuration.yaml, triggered by GridCoop's event entities, switch
  input_booleans on. A neighbour home (gridcoop_home.client.hub) sells cheap PV energy.

Run: .venv/bin/python -m pytest tests/e2e_ha -m e2e_ha -v   (about 1-2 minutes; the first start
of a new .venv-hass installs Home Assistant's own packages and takes a few minutes more)
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e_ha.fixtures import running_home_assistant, running_hub
from tests.e2e_ha.flows import add_device, entry_loaded, join_hub, set_options
from tests.e2e_ha.harness import Hub, Neighbour, listening_addresses, wait_for
from tests.e2e_ha.home_assistant import HomeAssistant
from tests.e2e_ha.package_index import PackageIndex, Wheels, normalized
from tests.e2e_ha.scenario import BATTERY_INPUTS, TEMPLATE_SENSORS

pytestmark = pytest.mark.e2e_ha

HOME_NAME = "E2E home"

# The scenario's part of configuration.yaml (home_assistant.BASE_CONFIGURATION comes first).
SCENARIO = (
    "input_number:\n"
    + BATTERY_INPUTS
    + TEMPLATE_SENSORS
    + """\
input_boolean:
  dishwasher:
    name: Dishwasher
  market_cleared:
    name: Market cleared seen
  dispatched:
    name: Dispatch seen
input_text:
  last_dispatch:
    name: Last dispatch

automation:
  - id: e2e_market_cleared
    alias: GridCoop market cleared
    triggers:
      - trigger: state
        entity_id: event.e2e_home_market_cleared
        not_to: [unknown, unavailable]
    actions:
      - action: input_boolean.turn_on
        target:
          entity_id: input_boolean.market_cleared
  - id: e2e_dispatch
    alias: GridCoop dispatch
    triggers:
      - trigger: state
        entity_id:
          - event.battery_dispatch
          - event.dishwasher_dispatch
        not_to: [unknown, unavailable]
    actions:
      - action: input_text.set_value
        target:
          entity_id: input_text.last_dispatch
        data:
          value: "{{ trigger.entity_id }} {{ trigger.to_state.attributes.event_type }}"
      - action: input_boolean.turn_on
        target:
          entity_id: input_boolean.dispatched
"""
)

HUB_TOML = """\
interval_seconds = 12
gate_closure_seconds = 3
allow_short_intervals = true
currency = "EUR"

[ledger]
enabled = true
key_file = "{folder}/ledger.key"
settlement_deadline_seconds = 30
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory, HUB_TOML) as served:
        yield served


@pytest.fixture(scope="module")
def home_assistant(
    tmp_path_factory: pytest.TempPathFactory, package_index: PackageIndex
) -> Iterator[HomeAssistant]:
    with running_home_assistant(tmp_path_factory, SCENARIO, package_index.url) as ha:
        yield ha


def sha256_record(path: Path) -> str:
    """A file's hash as a wheel's RECORD writes it."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_stock_home_assistant_installs_the_integration_s_requirement(
    hub: Hub, home_assistant: HomeAssistant, wheels: Wheels, package_index: PackageIndex
) -> None:
    ha, venv = home_assistant, home_assistant.venv
    requirement = f"gridcoop-home=={wheels.version}"
    # Home Assistant first needs the integration when a user adds it: the config flow.
    menu = ha.start_flow("gridcoop")
    assert menu["type"] == "menu", menu

    # It installed our requirement with uv under its own constraints...
    uv_command = re.search(
        r"Running uv pip command: args=\[.*'"
        + re.escape(requirement)
        + r"'.*'--constraint', '[^']*/homeassistant/package_constraints\.txt'",
        ha.log(),
    )
    assert uv_command, ha.log()[-4000:]
    # ...from our package index, at our version, as the very wheel built from this working tree.
    assert package_index.served("/simple/gridcoop-home/"), package_index.requests
    assert package_index.served(f"/packages/{wheels.home.name}"), package_index.requests
    assert venv.installed("gridcoop-home") == wheels.version
    site_packages = venv.site_packages()
    installed_files = {
        path: digest
        for path, digest in wheels.record(wheels.home).items()
        if ".dist-info/" not in path
    }
    assert installed_files
    for path, digest in installed_files.items():
        assert sha256_record(site_packages / path) == digest, path
    # Nothing of the hub service goes into Home Assistant's environment; the hub's wheel pins the
    # home library at the same version.
    assert venv.installed("gridcoop-hub") is None
    assert requirement in wheels.requirements(wheels.hub)

    # The home library's dependencies are at the versions Home Assistant pins (pymodbus 3.13.1 in
    # 2026.10), not at the newest the index has.
    pins = venv.constraints()
    pinned = 0
    for line in wheels.requirements(wheels.home):
        if "extra ==" in line:
            continue
        name = normalized(re.match(r"[A-Za-z0-9_.-]+", line).group())  # type: ignore[union-attr]
        if name in pins:
            assert venv.installed(name) == pins[name], name
            pinned += 1
    assert "pymodbus" in pins and venv.installed("pymodbus") == pins["pymodbus"]
    assert pinned >= 4  # aiohttp, cryptography, orjson, pymodbus at least

    # The integration loads and joins a hub.
    form = ha.flow_step(menu["flow_id"], {"next_step_id": "hub"})
    assert form["type"] == "form" and form["step_id"] == "hub", form
    created = ha.flow_step(
        form["flow_id"], {"url": hub.url, "join_code": hub.invite("Install check")}
    )
    assert created["type"] == "create_entry", created
    entry_id = created["result"]["entry_id"]
    try:
        wait_for(lambda: ha.entry_state(entry_id) == "loaded", 60, "the GridCoop entry loaded")
        assert "gridcoop" in ha.components()
    finally:
        ha.remove_entry(entry_id)
    assert ha.entry_state(entry_id) is None

    # Home Assistant, the hub and the package index listen on loopback only.
    for port in (ha.port, hub.port, package_index.port):
        assert listening_addresses(port) == {"127.0.0.1"}, port


def test_home_assistant_joins_the_hub_and_automations_follow_the_market(
    hub: Hub, home_assistant: HomeAssistant
) -> None:
    started = time.monotonic()
    since = datetime.now(UTC)
    ha = home_assistant
    with ha.events("automation_triggered") as triggered:
        neighbour = Neighbour(hub.url, hub.invite("Neighbour"))
        neighbour.start()
        try:
            entry_id = join_hub(ha, hub.url, hub.invite(HOME_NAME), HOME_NAME)
            wait_for(lambda: entry_loaded(ha, entry_id), 30, "the GridCoop entry loaded")
            set_options(ha, entry_id)
            wait_for(lambda: entry_loaded(ha, entry_id), 30, "the entry reloaded with options")
            for kind, values in (
                (
                    "grid_meter",
                    {"name": "Grid meter", "import_energy_entity": "sensor.grid_import"},
                ),
                (
                    "battery",
                    {
                        "name": "Battery",
                        "soc_entity": "sensor.battery_soc",
                        "setpoint_entity": "input_number.battery_setpoint",
                        "capacity_kwh": 10.0,
                        "max_power_kw": 5.0,
                    },
                ),
                (
                    "flexible_load",
                    {
                        "name": "Dishwasher",
                        "switch_entity": "input_boolean.dishwasher",
                        "load_power_w": 2000.0,
                        "duration_min": 60.0,
                    },
                ),
            ):
                add_device(ha, entry_id, kind, values)
                wait_for(lambda: entry_loaded(ha, entry_id), 30, f"the entry reloaded with {kind}")

            # The home's entities are there: market, settings, devices and ledger tokens.
            states = wait_for(
                lambda: (s := ha.states()) and "event.battery_dispatch" in s and s,
                30,
                "GridCoop entities in /api/states",
            )
            for entity_id in (
                "sensor.e2e_home_local_price_now",
                "sensor.e2e_home_recommended_action",
                "switch.e2e_home_take_part_in_the_market",
                "select.e2e_home_strategy",
                "event.e2e_home_market_cleared",
                "event.dishwasher_dispatch",
                "switch.battery_automatic_dispatch",
                "number.battery_reserve",
            ):
                assert entity_id in states, entity_id
            # The hub keeps a ledger: token sensors replace the allocation-derived balance.
            tokens = wait_for(
                lambda: (
                    ha.state("sensor.e2e_home_green_certificates") not in (None, "unavailable")
                    and ha.states()
                ),
                30,
                "ledger token sensors",
            )
            for entity_id in (
                "sensor.e2e_home_utility_tokens",
                "sensor.e2e_home_flexibility_tokens",
                "sensor.e2e_home_settled_balance",
            ):
                assert tokens[entity_id]["state"] not in ("unavailable",), entity_id
            assert "sensor.e2e_home_market_balance" not in tokens

            # The market clears and dispatches to the home: both automations ran.
            wait_for(
                lambda: ha.state("input_boolean.market_cleared") == "on",
                60,
                "the market-cleared automation",
            )
            wait_for(
                lambda: ha.state("input_boolean.dispatched") == "on", 60, "the dispatch automation"
            )
            last = ha.state("input_text.last_dispatch") or ""
            assert re.fullmatch(r"event\.(battery|dishwasher)_dispatch \w+", last), last
            # The same seen as Home Assistant's events and in its logbook.
            fired = triggered.wait_for(
                lambda e: e["data"]["entity_id"] == "automation.gridcoop_dispatch",
                10,
                "the dispatch automation's automation_triggered event",
            )
            assert re.match(
                r"state of event\.(battery|dishwasher)_dispatch", fired["data"]["source"]
            )
            wait_for(
                lambda: any(
                    e.get("message", "").startswith("triggered by state of event.")
                    for e in ha.logbook(since, entity_id="automation.gridcoop_dispatch")
                ),
                10,
                "the dispatch automation in the logbook",
            )
            assert neighbour.offered, neighbour.errors
            # The Home Assistant home and the neighbour bid into the same interval at the hub.
            wait_for(
                lambda: any(
                    i["participants"] >= 2 for i in hub.get("/api/v1/market/intervals")["intervals"]
                ),
                30,
                "an interval with both homes",
            )

            # A token action over the REST API: signed by the home key, refused by the hub's ledger
            # because the home holds no flexibility tokens yet, as a translated error.
            status, body = ha.call_service(
                "gridcoop",
                "transfer_tokens",
                {
                    "config_entry_id": entry_id,
                    "asset": "flexibility_tokens",
                    "units": 1,
                    "memo": "e2e",
                },
                return_response=True,
            )
            assert status == 400, body
            assert "does not hold that many tokens" in str(body)
            status, body = ha.call_service(
                "gridcoop",
                "charge_with_green_tokens",
                {
                    "config_entry_id": entry_id,
                    "start": "2026-05-01 18:00:00",
                    "end": "2026-05-01 20:00:00",
                    "energy_kwh": 7.4,
                },
                return_response=True,
            )
            assert status == 400 and "7.4 kWh needs 74 green certificates" in str(body), body
        finally:
            neighbour.stop()
    assert time.monotonic() - started < 180
