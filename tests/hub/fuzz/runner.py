"""The schemathesis command line that fuzzes a FuzzHub, and the environment its hooks need."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.hub.fuzz.harness import REPO, STATE_ENV, FuzzHub

CHECKS = (
    "not_a_server_error",  # no 5xx
    "status_code_conformance",  # only documented statuses
    "content_type_conformance",  # the documented media type
    "response_schema_conformance",  # bodies match the document
    "ignored_auth",  # signed and admin routes refuse unsigned and wrongly signed requests
)
PHASES = "examples,coverage,fuzzing,stateful"


def schemathesis_config(hub: FuzzHub) -> str:
    """TOML: the admin token on admin operations only; a placeholder signature header everywhere
    (the hooks' signer replaces it) so schemathesis knows the signature is explicit auth."""
    token = json.dumps(f"Bearer {hub.admin_token}")
    return (
        'headers = { "X-GridCoop-Signature" = "signed-at-send-time" }\n'
        "request-timeout = 30\n"
        "[[operations]]\n"
        'include-path-regex = "^/api/v1/admin/"\n'
        f'headers = {{ "X-GridCoop-Signature" = "signed-at-send-time", Authorization = {token} }}\n'
    )


def fuzz_command(hub: FuzzHub, work: Path, examples: int, seed: int | None) -> list[str]:
    config = work / "schemathesis.toml"
    config.write_text(schemathesis_config(hub))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        hub.base_url + "/api/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--max-examples",
        str(examples),
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--report",
        "json",
        "--report-json-path",
        str(work / "schemathesis-report.json"),
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    return command


def fuzz_env(state: Path, known_log: Path, interval_seconds: int) -> dict[str, str]:
    return {
        "SCHEMATHESIS_HOOKS": "tests.hub.fuzz.hooks",
        STATE_ENV: str(state),
        "GRIDCOOP_FUZZ_KNOWN_LOG": str(known_log),
        "GRIDCOOP_FUZZ_INTERVAL_SECONDS": str(interval_seconds),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
    }
