"""A stock Home Assistant, as a user runs it, for the end-to-end tests.

`.venv-hass` (scripts/bootstrap all) holds only `homeassistant` at the version the integration's
test harness pins. `start_home_assistant` makes a config folder as a user's would be after a HACS
install: configuration.yaml (a base plus the scenario's YAML), `.storage/http` binding
127.0.0.1:<free port>, and a COPY of `custom_components/gridcoop` (no symlink, no editable
install). It starts `hass -c FOLDER` with uv pointed at our package index first and the public
index for everything else, so Home Assistant installs the integration's requirement
(gridcoop-home==<version>) itself, under its own package_constraints.txt, the first time the
integration is needed (a config flow or an entry's setup).

    ha = start_home_assistant(folder, SCENARIO_YAML, index.url)   # or new_...() and ha.start()
    ha.onboard(); ha.wait_running()
    menu = ha.start_flow("gridcoop")                       # config flows; also kind="options",
    done = ha.flow_step(menu["flow_id"], {...})            #   kind="subentries"
    ha.state("sensor.x"); ha.attributes("sensor.x"); ha.states()
    ha.set_state("sensor.x", "12.5", {"unit_of_measurement": "kW"})
    ha.call_service("input_boolean", "turn_on", {"entity_id": "input_boolean.y"})
    with ha.events("state_changed") as seen: ...; seen.wait_for(lambda e: ..., 30, "what")
    ha.logbook(since, entity_id="event.x")
    ha.restart(); ha.stop()
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.e2e_ha.events import EventRecorder
from tests.e2e_ha.harness import REPO, Process, free_port, http, wait_for

HASS_VENV = REPO / ".venv-hass"
CLIENT_ID = "http://127.0.0.1/"  # any URL: Home Assistant's auth only compares it
FLOW_PATHS = {
    "config": "/api/config/config_entries/flow",
    "options": "/api/config/config_entries/options/flow",
    "subentries": "/api/config/config_entries/subentries/flow",
}

# What every scenario gets. No `default_config:` (it would add bluetooth, cloud, stream... and
# their installs) and no `http:` (see write_http_store). The installer's debug lines show uv's
# command line, with the constraints file, in home-assistant.log.
BASE_CONFIGURATION = """\
homeassistant:
  name: GridCoop e2e
  time_zone: UTC
  unit_system: metric
  currency: EUR
  country: DE
  latitude: 52.5
  longitude: 13.4
  elevation: 30
api:
onboarding:
config:
recorder:
  commit_interval: 1
logbook:
logger:
  default: warning
  logs:
    custom_components.gridcoop: debug
    homeassistant.components.automation: info
    homeassistant.requirements: debug
    homeassistant.util.package: debug
"""


class StockVenv:
    """The stock Home Assistant's virtual environment (.venv-hass), read from outside."""

    def __init__(self, path: Path = HASS_VENV) -> None:
        self.path = path
        self.python = path / "bin" / "python"
        self.hass = path / "bin" / "hass"

    def exists(self) -> bool:
        return self.hass.is_file() and os.access(self.hass, os.X_OK)

    def _run(self, code: str) -> str:
        # -I: not the current directory on sys.path (the repository's *.egg-info would count as
        # installed distributions), nor PYTHON* variables.
        return subprocess.run(
            [str(self.python), "-I", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()

    def installed(self, distribution: str) -> str | None:
        """The installed version of `distribution`, or None."""
        out = self._run(
            "import importlib.metadata as m, sys\n"
            f"try: print(m.version({distribution!r}))\n"
            "except m.PackageNotFoundError: pass"
        )
        return out or None

    def uninstall(self, distribution: str) -> None:
        subprocess.run(
            [str(self.python), "-m", "pip", "uninstall", "--yes", "--quiet", distribution],
            capture_output=True,
            check=True,
            timeout=120,
        )

    def site_packages(self) -> Path:
        return Path(self._run("import sysconfig; print(sysconfig.get_paths()['purelib'])"))

    def constraints(self) -> dict[str, str]:
        """Home Assistant's package_constraints.txt: normalised name -> pinned version."""
        path = self._run(
            "import homeassistant, pathlib; "
            "print(pathlib.Path(homeassistant.__file__).with_name('package_constraints.txt'))"
        )
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", Path(path).read_text(), re.MULTILINE)
        return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins}

    def include_dir(self) -> Path:
        """The parent of the interpreter's C headers: Python.h there includes
        <x86_64-linux-gnu/python3.14/pyconfig.h>, which the compiler finds only with this folder
        on CPATH (Debian's python3.14 unpacked outside /usr, ../shared/tools/python314)."""
        return Path(self._run("import sysconfig; print(sysconfig.get_paths()['include'])")).parent


def write_http_store(folder: Path, port: int) -> None:
    """Bind Home Assistant to 127.0.0.1:port for certain. Home Assistant 2026.10 keeps its HTTP
    settings in .storage/http; a YAML `http:` block only goes into a trial slot that reverts to
    the stored (default: 0.0.0.0:8123) settings unless confirmed within 5 minutes."""
    stable = {
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": "2026-01-01T00:00:00+00:00",
        "error": None,
        "error_message": None,
    }
    store = {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    (folder / ".storage").mkdir(exist_ok=True)
    (folder / ".storage" / "http").write_text(json.dumps(store, indent=2))


def write_config(folder: Path, scenario_yaml: str, port: int) -> None:
    """A user's config folder after a HACS install of the integration."""
    (folder / "configuration.yaml").write_text(BASE_CONFIGURATION + "\n" + scenario_yaml)
    write_http_store(folder, port)
    shutil.copytree(
        REPO / "custom_components" / "gridcoop",
        folder / "custom_components" / "gridcoop",
        ignore=shutil.ignore_patterns("__pycache__"),
    )


class HomeAssistant:
    """A running `hass -c FOLDER` from .venv-hass and its REST and WebSocket APIs."""

    def __init__(self, folder: Path, port: int, index_url: str, venv: StockVenv) -> None:
        self.folder = folder
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.index_url = index_url
        self.venv = venv
        self.token = ""
        self.process: Process | None = None

    # -- process ---------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The user's environment, with uv (Home Assistant's installer) asking our index first and
        the public index for everything else."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
        env.pop("PYTHONPATH", None)
        env["VIRTUAL_ENV"] = str(self.venv.path)
        env["UV_INDEX"] = self.index_url
        # Home Assistant's voice pipeline needs pymicro-vad and pyspeex-noise, which have no
        # Python 3.14 wheels: uv builds them once (then they stay in .venv-hass) if the compiler
        # finds the interpreter's headers; otherwise every start retries and fails (~25 s).
        env["CPATH"] = os.pathsep.join(
            p for p in (str(self.venv.include_dir()), env.get("CPATH", "")) if p
        )
        return env

    def start(self, timeout: float = 600) -> None:
        """Start `hass` and wait until its HTTP API answers (the first start of a new .venv-hass
        installs Home Assistant's own packages: minutes)."""
        command = [str(self.venv.hass), "-c", str(self.folder)]
        log = self.folder / "hass-stdout.log"
        process = self.process = Process("hass", command, log, self.folder, self.environment())
        try:
            wait_for(
                lambda: (
                    process.check_running()
                    or http("GET", self.url + "/api/onboarding", timeout=5)[0] == 200
                ),
                timeout,
                "Home Assistant HTTP",
                poll=1,
            )
        except BaseException:
            self.stop()  # its output stays for diagnose()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)

    def restart(self) -> None:
        """Stop and start with the same config folder (entries, users and tokens stay)."""
        self.stop()
        self.start()
        self.wait_running()

    def log(self) -> str:
        """home-assistant.log so far."""
        path = self.folder / "home-assistant.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def diagnose(self) -> str:
        """The end of hass's output and of its log, for a failing test's report."""
        tail = self.process.tail() if self.process else ""
        return f"--- hass output ---\n{tail}\n--- home-assistant.log ---\n{self.log()[-6000:]}"

    # -- REST API --------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One authenticated request: (status, decoded JSON body)."""
        if self.process is not None:
            self.process.check_running()
        return http(method, self.url + path, body, token=self.token, timeout=60)

    def onboard(self) -> None:
        """Create the owner user, as the onboarding page does, and keep its access token."""
        user = {
            "client_id": CLIENT_ID,
            "name": "E2E",
            "username": "e2e",
            "password": "e2e-password-not-secret",
            "language": "en",
        }
        status, body = http("POST", self.url + "/api/onboarding/users", user)
        assert status == 200, body
        form = {"grant_type": "authorization_code", "code": body["auth_code"]}
        status, tokens = http(
            "POST", self.url + "/auth/token", form={**form, "client_id": CLIENT_ID}
        )
        assert status == 200, tokens
        self.token = tokens["access_token"]

    def wait_running(self, timeout: float = 300) -> None:
        """HTTP answers before Home Assistant has finished starting; until then a config flow may
        wait for the requirements lock that Home Assistant's own package installs hold."""
        wait_for(
            lambda: self.api("GET", "/api/config")[1].get("state") == "RUNNING",
            timeout,
            "Home Assistant running",
            poll=1,
        )

    def components(self) -> set[str]:
        """The integrations (and platforms, "sensor.gridcoop") set up now."""
        status, config = self.api("GET", "/api/config")
        assert status == 200, config
        return set(config["components"])

    def states(self) -> dict[str, dict[str, Any]]:
        status, body = self.api("GET", "/api/states")
        assert status == 200, body
        return {state["entity_id"]: state for state in body}

    def state(self, entity_id: str) -> str | None:
        """The entity's state, or None if it does not exist."""
        status, body = self.api("GET", f"/api/states/{entity_id}")
        return body["state"] if status == 200 else None

    def attributes(self, entity_id: str) -> dict[str, Any]:
        status, body = self.api("GET", f"/api/states/{entity_id}")
        assert status == 200, (entity_id, body)
        attributes: dict[str, Any] = body["attributes"]
        return attributes

    def set_state(
        self, entity_id: str, state: str, attributes: dict[str, Any] | None = None
    ) -> None:
        """Write a state straight into the state machine (a fake sensor). For helpers
        (input_number, input_boolean...) call their services instead."""
        body = {"state": state, "attributes": attributes or {}}
        status, answer = self.api("POST", f"/api/states/{entity_id}", body)
        assert status in (200, 201), answer

    def call_service(
        self, domain: str, service: str, data: dict[str, Any], return_response: bool = False
    ) -> tuple[int, Any]:
        """(status, body): 200 with the changed states (or the response); 400 with the error
        message for a refused action (e.g. a translated ServiceValidationError)."""
        path = f"/api/services/{domain}/{service}" + ("?return_response" if return_response else "")
        return self.api("POST", path, data)

    # -- config entries and flows ------------------------------------------------------------------

    def start_flow(self, handler: str | list[str], kind: str = "config") -> Any:
        """Start a flow: kind "config" (handler: the domain), "options" (handler: an entry id) or
        "subentries" (handler: [entry id, subentry type]). Returns its first step."""
        body: dict[str, Any] = {"handler": handler}
        if kind == "config":
            body["show_advanced_options"] = False
        status, step = self.api("POST", FLOW_PATHS[kind], body)
        assert status == 200, step
        return step

    def flow_step(self, flow_id: str, data: dict[str, Any], kind: str = "config") -> Any:
        """Submit a form (or {"next_step_id": ...} for a menu). Returns the next step."""
        status, step = self.api("POST", f"{FLOW_PATHS[kind]}/{flow_id}", data)
        assert status == 200, step
        return step

    def abort_flow(self, flow_id: str, kind: str = "config") -> None:
        status, body = self.api("DELETE", f"{FLOW_PATHS[kind]}/{flow_id}")
        assert status == 200, body

    def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        """The config entries (of `domain`, or all)."""
        path = "/api/config/config_entries/entry" + (f"?domain={domain}" if domain else "")
        status, entries = self.api("GET", path)
        assert status == 200, entries
        return list(entries)

    def entry_state(self, entry_id: str) -> str | None:
        """ "loaded", "setup_retry", "not_loaded"... or None without such an entry."""
        states = [e["state"] for e in self.entries() if e["entry_id"] == entry_id]
        return states[0] if states else None

    def remove_entry(self, entry_id: str) -> None:
        status, body = self.api("DELETE", f"/api/config/config_entries/entry/{entry_id}")
        assert status == 200, body

    # -- what happened ---------------------------------------------------------------------------

    def logbook(self, since: datetime, entity_id: str | None = None) -> list[dict[str, Any]]:
        """Logbook entries since `since` (aware datetime), oldest first (the recorder commits
        every second)."""
        path = f"/api/logbook/{since.isoformat()}"
        if entity_id:
            path += f"?entity={entity_id}"
        status, entries = self.api("GET", path)
        assert status == 200, entries
        return list(entries)

    def events(self, event_type: str | None = None) -> EventRecorder:
        """A context manager recording the events fired while it is open (all types if None)."""
        return EventRecorder(self.url, self.token, event_type)


def new_home_assistant(folder: Path, scenario_yaml: str, index_url: str) -> HomeAssistant:
    """A stock Home Assistant on a new config folder, not started yet. The integration's
    requirement is NOT installed: see below."""
    venv = StockVenv()
    # Our wheels are rebuilt for every run with the same version (the manifest pins it exactly),
    # and Home Assistant installs nothing whose version is already there. Uninstalling it makes
    # Home Assistant install the wheel just built, as on a user's first start.
    venv.uninstall("gridcoop-home")
    port = free_port()
    write_config(folder, scenario_yaml, port)
    return HomeAssistant(folder, port, index_url, venv)


def start_home_assistant(folder: Path, scenario_yaml: str, index_url: str) -> HomeAssistant:
    """new_home_assistant, started and answering HTTP (not yet onboarded)."""
    home_assistant = new_home_assistant(folder, scenario_yaml, index_url)
    home_assistant.start()
    return home_assistant
