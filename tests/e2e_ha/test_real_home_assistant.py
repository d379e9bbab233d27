"""A real Home Assistant with the GridCoop integration against a real hub, as processes.

The hub (`python -m hub serve`, 12-second intervals, ledger on) and Home Assistant
(`hass -c CONFIG_DIR` from .venv-ha, core integrations installed by Home Assistant itself on the
first start) run on free loopback ports. The test onboards Home Assistant over HTTP, joins the hub
through the config flow with a join code from `python -m hub invite`, adds a battery, a grid meter
and a dishwasher (template and input entities) as device subentries, and waits until the market
clears and dispatches to the home: automations in configuration.yaml, triggered by GridCoop's
event entities, switch input_booleans on. A neighbour home (gridcoop_home.client.hub) sells cheap
PV energy.

Run: .venv/bin/python -m pytest tests/e2e_ha -m e2e_ha -v   (about 1-2 minutes; the very first
start of a fresh .venv-ha installs Home Assistant's core packages and takes ~90 s more)
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_ha.harness import (
    REPO,
    Neighbour,
    Process,
    find_hass,
    free_port,
    http,
    hub_command,
    wait_for,
)

pytestmark = pytest.mark.e2e_ha

HASS = find_hass()
HOME_NAME = "E2E home"
CLIENT_ID = "http://127.0.0.1/"  # any URL: Home Assistant's auth only compares it

CONFIGURATION = """\
homeassistant:
  name: GridCoop e2e
  time_zone: UTC
  unit_system: metric
  currency: EUR
  latitude: 52.5
  longitude: 13.4
  elevation: 30
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
onboarding:
config:
logger:
  default: warning
  logs:
    custom_components.gridcoop: debug
    homeassistant.components.automation: info

input_number:
  battery_soc:
    name: Battery SoC input
    min: 0
    max: 100
    initial: 50
  battery_setpoint:
    name: Battery setpoint
    min: -5000
    max: 5000
    initial: 0
    unit_of_measurement: W
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

template:
  - sensor:
      - name: Battery SoC
        unique_id: e2e_battery_soc
        device_class: battery
        unit_of_measurement: "%"
        state_class: measurement
        state: "{{{{ states('input_number.battery_soc') | float(50) }}}}"
      - name: Grid import
        unique_id: e2e_grid_import
        device_class: energy
        unit_of_measurement: kWh
        state_class: total_increasing
        state: "{{{{ (1000 + now().timestamp() / 3600) | round(3) }}}}"

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
          value: "{{{{ trigger.entity_id }}}} {{{{ trigger.to_state.attributes.event_type }}}}"
      - action: input_boolean.turn_on
        target:
          entity_id: input_boolean.dispatched
"""

HUB_TOML = """\
interval_seconds = 12
gate_closure_seconds = 3
allow_short_intervals = true
currency = "EUR"

[ledger]
enabled = true
key_file = "{key_file}"
settlement_deadline_seconds = 30
"""


@dataclass
class Hub:
    url: str
    db_url: str
    config: Path
    process: Process

    def invite(self, name: str) -> str:
        answer = subprocess.run(
            [*hub_command("invite", name, "--db", self.db_url, "--config", str(self.config))],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        match = re.search(r"Join code for .*: (\S+)", answer.stdout)
        assert match, answer.stdout + answer.stderr
        return match.group(1)


@dataclass
class HomeAssistant:
    url: str
    config_dir: Path
    process: Process
    token: str = ""

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.process.check_running()
        return http(method, self.url + path, body, token=self.token, timeout=60)

    def states(self) -> dict[str, dict[str, Any]]:
        status, body = self.api("GET", "/api/states")
        assert status == 200, body
        return {state["entity_id"]: state for state in body}

    def state(self, entity_id: str) -> str | None:
        status, body = self.api("GET", f"/api/states/{entity_id}")
        return body["state"] if status == 200 else None


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("hub")
    config = folder / "hub.toml"
    config.write_text(HUB_TOML.format(key_file=folder / "ledger.key"))
    port = free_port()
    db_url = f"sqlite:///{folder / 'hub.db'}"
    command = hub_command("serve", "--config", str(config), "--db", db_url)
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = Process("hub", command, folder / "hub.log", REPO)
    served = Hub(f"http://127.0.0.1:{port}", db_url, config, process)
    try:
        wait_for(
            lambda: process.check_running() or http("GET", served.url + "/health")[0] == 200,
            30,
            "hub /health",
        )
        yield served
    finally:
        process.stop()


def write_config(folder: Path, port: int) -> None:
    (folder / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    (folder / "custom_components").mkdir()
    (folder / "custom_components" / "gridcoop").symlink_to(
        REPO / "custom_components" / "gridcoop", target_is_directory=True
    )


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistant]:
    if HASS is None:
        pytest.skip(
            "Home Assistant is not installed: no .venv-ha/bin/hass and no hass on PATH "
            "(scripts/bootstrap all creates .venv-ha)"
        )
    folder = tmp_path_factory.mktemp("ha-config")
    port = free_port()
    write_config(folder, port)
    # No --skip-pip: Home Assistant installs its core integrations' packages on a first start
    # (without them the frontend is missing and HTTP never comes up). The integration's own
    # requirement, gridcoop==0.1.0, is this repository installed (editable) in .venv-ha.
    process = Process("hass", [str(HASS), "-c", str(folder)], folder / "hass-stdout.log", folder)
    served = HomeAssistant(f"http://127.0.0.1:{port}", folder, process)
    try:
        wait_for(
            lambda: (
                process.check_running()
                or http("GET", served.url + "/api/onboarding", timeout=5)[0] == 200
            ),
            240,
            "Home Assistant HTTP",
            poll=1,
        )
        yield served
    except BaseException:
        log = folder / "home-assistant.log"
        print("--- hass output ---\n" + process.tail())
        if log.exists():
            print("--- home-assistant.log ---\n" + log.read_text(errors="replace")[-6000:])
        raise
    finally:
        process.stop(timeout=30)


def onboard(ha: HomeAssistant) -> None:
    status, body = http(
        "POST",
        ha.url + "/api/onboarding/users",
        {
            "client_id": CLIENT_ID,
            "name": "E2E",
            "username": "e2e",
            "password": "e2e-password-not-secret",
            "language": "en",
        },
    )
    assert status == 200, body
    status, tokens = http(
        "POST",
        ha.url + "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": body["auth_code"],
            "client_id": CLIENT_ID,
        },
    )
    assert status == 200, tokens
    ha.token = tokens["access_token"]


def flow_step(ha: HomeAssistant, path: str, flow_id: str, data: dict[str, Any]) -> Any:
    status, body = ha.api("POST", f"{path}/{flow_id}", data)
    assert status == 200, body
    return body


def join_hub(ha: HomeAssistant, hub_url: str, join_code: str) -> str:
    path = "/api/config/config_entries/flow"
    status, menu = ha.api("POST", path, {"handler": "gridcoop", "show_advanced_options": False})
    assert status == 200 and menu["type"] == "menu", menu
    assert set(menu["menu_options"]) == {"hub", "island"}
    form = flow_step(ha, path, menu["flow_id"], {"next_step_id": "hub"})
    assert form["type"] == "form" and form["step_id"] == "hub", form
    created = flow_step(ha, path, form["flow_id"], {"url": hub_url, "join_code": join_code})
    assert created["type"] == "create_entry", created
    assert created["title"] == HOME_NAME
    entry_id: str = created["result"]["entry_id"]
    return entry_id


def set_options(ha: HomeAssistant, entry_id: str) -> None:
    """Read, plan and bid every 10 s instead of every minute (the hub clears every 12 s)."""
    path = "/api/config/config_entries/options/flow"
    status, form = ha.api("POST", path, {"handler": entry_id})
    assert status == 200 and form["type"] == "form", form
    done = flow_step(
        ha, path, form["flow_id"], {"reading_interval": 10, "outage_repair_minutes": 30}
    )
    assert done["type"] == "create_entry", done


def add_device(ha: HomeAssistant, entry_id: str, kind: str, values: dict[str, Any]) -> None:
    path = "/api/config/config_entries/subentries/flow"
    status, step = ha.api("POST", path, {"handler": [entry_id, kind]})
    assert status == 200, step
    if step["type"] == "menu":
        step = flow_step(ha, path, step["flow_id"], {"next_step_id": "entities"})
    assert step["type"] == "form" and step["step_id"] == "entities", step
    done = flow_step(ha, path, step["flow_id"], values)
    assert done["type"] == "create_entry", done


def entry_loaded(ha: HomeAssistant, entry_id: str) -> bool:
    status, entries = ha.api("GET", "/api/config/config_entries/entry?domain=gridcoop")
    assert status == 200, entries
    return any(e["entry_id"] == entry_id and e["state"] == "loaded" for e in entries)


def test_home_assistant_joins_the_hub_and_automations_follow_the_market(
    hub: Hub, home_assistant: HomeAssistant
) -> None:
    started = time.monotonic()
    ha = home_assistant
    onboard(ha)
    # HTTP answers before Home Assistant has finished starting; until then a config flow may
    # wait for the requirements lock that Home Assistant's own package installs hold.
    wait_for(
        lambda: ha.api("GET", "/api/config")[1].get("state") == "RUNNING",
        180,
        "Home Assistant running",
        poll=1,
    )
    neighbour = Neighbour(hub.url, hub.invite("Neighbour"))
    neighbour.start()
    try:
        entry_id = join_hub(ha, hub.url, hub.invite(HOME_NAME))
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
        assert neighbour.offered, neighbour.errors
        # The Home Assistant home and the neighbour bid into the same interval at the hub.
        wait_for(
            lambda: any(
                i["participants"] >= 2
                for i in http("GET", hub.url + "/api/v1/market/intervals")[1]["intervals"]
            ),
            30,
            "an interval with both homes",
        )

        # A token action over the REST API: signed by the home key, refused by the hub's ledger
        # because the home holds no flexibility tokens yet, as a translated error.
        status, body = ha.api(
            "POST",
            "/api/services/gridcoop/transfer_tokens?return_response",
            {
                "config_entry_id": entry_id,
                "asset": "flexibility_tokens",
                "units": 1,
                "memo": "e2e",
            },
        )
        assert status == 400, body
        assert "does not hold that many tokens" in str(body)
        status, body = ha.api(
            "POST",
            "/api/services/gridcoop/charge_with_green_tokens?return_response",
            {
                "config_entry_id": entry_id,
                "start": "2026-05-01 18:00:00",
                "end": "2026-05-01 20:00:00",
                "energy_kwh": 7.4,
            },
        )
        assert status == 400 and "7.4 kWh needs 74 green certificates" in str(body), body
    finally:
        neighbour.stop()
    assert time.monotonic() - started < 180
