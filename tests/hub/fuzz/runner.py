"""The schemathesis command line that fuzzes a FuzzHub, and the environment its hooks need."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.hub.fuzz.harness import REPO, STATE_ENV, FuzzHub

# Every check schemathesis has: no 5xx; only documented statuses, media types, headers and
# bodies; schema-valid requests accepted and schema-violating ones refused; a missing signature
# or admin token refused (also when a probe leaves the header out); 405 with Allow for methods
# the document does not list; nothing usable after it was deleted.
CHECKS = ("all",)
PHASES = "examples,coverage,fuzzing,stateful"


# A schema-valid request may still be refused with 422 (a rule the document states in words: a
# bid's configured limits, curves that cross, a setting out of range) or 410 (an expired join
# code); 400 is for requests that break the document, and the check keeps flagging it.
# A WebSocket handshake answers 101, which is neither an error nor a refusal.
ACCEPTED_STATUSES = ["101", "2xx", "3xx", "401", "403", "404", "409", "410", "422", "429"]
NOT_SERVER_ERRORS = ["101", "2xx", "3xx", "4xx"]


def schemathesis_config(hub: FuzzHub) -> str:
    """TOML: the admin token on admin operations only; a placeholder signature header everywhere
    (the hooks' signer replaces it) so schemathesis knows the signature is explicit auth. No NUL
    in generated text: the hub refuses it everywhere (400), a rule the document states in words
    (tests/hub/server/test_unstorable_text.py tests it)."""
    token = json.dumps(f"Bearer {hub.admin_token}")
    return (
        'headers = { "X-GridCoop-Signature" = "signed-at-send-time" }\n'
        "request-timeout = 30\n"
        "[generation]\n"
        "allow-x00 = false\n"
        "[checks.positive_data_acceptance]\n"
        f"expected-statuses = {json.dumps(ACCEPTED_STATUSES)}\n"
        "[checks.not_a_server_error]\n"
        f"expected-statuses = {json.dumps(NOT_SERVER_ERRORS)}\n"
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
