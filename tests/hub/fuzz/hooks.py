"""Schemathesis hooks for fuzzing a GridCoop hub: `SCHEMATHESIS_HOOKS=tests.hub.fuzz.hooks`.

Reads the hub URL and keys from the JSON file named by GRIDCOOP_FUZZ_STATE (written by
tests/hub/fuzz/harness.py, or by `python -m tests.hub.fuzz.serve` for a hand-run `st run`).

- before_call: half the positive path parameters name things that exist (cleared intervals,
  blocks, entries, the homes, dashboard files); admin revocations aimed at the fuzzing home are
  redirected to a second, expendable home; positive bodies of the signed-body operations become
  real signed payloads (bids, orders, readings, ledger transactions; see signing.py); every
  request is signed with the home key by a `requests` auth object, on the exact bytes sent, with
  a fresh request sequence.
  Schemathesis's auth probes (`ignored_auth`) go straight to the transport without this hook,
  so the hub must refuse them unsigned or wrongly signed.
- filter_failure: failures that are known, reported hub bugs (KNOWN_BUGS, each with a strict
  xfail test) are counted in GRIDCOOP_FUZZ_KNOWN_LOG instead of failing the run, so the fuzzer
  keeps guarding everything else while a fix is on its way.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario, TestPhase

from tests.hub.fuzz import signing
from tests.hub.fuzz.harness import STATE_ENV, Credentials, http_json

KNOWN_LOG_ENV = "GRIDCOOP_FUZZ_KNOWN_LOG"
INTERVAL_SECONDS = int(os.environ.get("GRIDCOOP_FUZZ_INTERVAL_SECONDS", "5"))
INT64_MAX = 2**63 - 1

CREDENTIALS = Credentials.from_json(Path(os.environ[STATE_ENV]).read_text())

Builder = Callable[[random.Random], dict[str, Any]]
BUILDERS: dict[tuple[str, str], Builder] = {
    ("POST", "/api/v1/bids"): lambda rng: signing.envelope(
        CREDENTIALS, "bid", signing.bid_body(rng, INTERVAL_SECONDS)
    ),
    ("POST", "/api/v1/orders"): lambda rng: signing.envelope(
        CREDENTIALS, "order", signing.order_body(rng, INTERVAL_SECONDS)
    ),
    ("POST", "/api/v1/readings"): lambda rng: signing.readings_body(rng, CREDENTIALS),
    ("POST", "/api/v1/ledger/transactions"): lambda rng: signing.transaction(rng, CREDENTIALS),
}
SIGNED_SHARE = 0.85  # of positive bodies; the rest keep schemathesis's own (badly signed) ones


def sign_body(case: Any) -> None:
    build = BUILDERS.get((case.method.upper(), case.path))
    negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    if build is None or negative:
        return
    rng = random.Random(repr(case.body))  # reproducible from the generated case
    if rng.random() < SIGNED_SHARE:
        case.body = build(rng)


def protect_fuzzing_home(case: Any) -> None:
    """Revocations aimed at the fuzzing home or its keys hit the victim home instead."""
    params = case.path_parameters
    if not isinstance(params, dict):
        return
    if params.get("home_id") in CREDENTIALS.own_ids and case.path.startswith("/api/v1/admin/"):
        params["home_id"] = CREDENTIALS.victim_home_id
    if params.get("key_id") in CREDENTIALS.own_ids:
        params["key_id"] = random.Random(case.id).choice(CREDENTIALS.victim_key_ids)


class HubData:
    """Real identifiers from the running hub (cleared intervals, blocks, entries), refreshed
    every few seconds, so path parameters sometimes name things that exist."""

    def __init__(self) -> None:
        self.fetched = 0.0
        self.values: dict[str, list[Any]] = {}

    def get(self) -> dict[str, list[Any]]:
        if time.monotonic() - self.fetched > 3:
            self.fetched = time.monotonic()
            self.values = {**self.values, **self._fetch()}
        return self.values

    @staticmethod
    def _fetch() -> dict[str, list[Any]]:
        base = CREDENTIALS.base_url
        values: dict[str, list[Any]] = {
            "home_id": [CREDENTIALS.home_id, CREDENTIALS.victim_home_id],
            "month": [time.strftime("%Y-%m", time.gmtime())],
            "asset": ["icon.svg", "css/dashboard.css", "js/main.js", "i18n/ru.json"],
        }
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
            _, intervals = http_json("GET", base + "/api/v1/market/intervals?limit=50")
            values["interval_start"] = [i["interval_start"] for i in intervals["intervals"]]
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
            _, blocks = http_json("GET", base + "/api/v1/ledger/blocks?limit=1000")
            values["height"] = [block["height"] for block in blocks["blocks"]]
            entries: list[str] = []
            for height in values["height"][-3:]:
                _, block = http_json("GET", f"{base}/api/v1/ledger/blocks/{height}")
                entries += [entry["hash"] for entry in block.get("entries", [])]
            values["entry_hash"] = entries
        return values


HUB_DATA = HubData()
REAL_VALUE_SHARE = 0.5


def use_real_values(case: Any) -> None:
    """Half the positive cases name an existing interval, block, entry, home or asset."""
    params = case.path_parameters
    if not isinstance(params, dict) or not params:
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    if case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL:
        return  # the value came from an earlier answer (a link): what the check follows up
    rng = random.Random(f"{case.path}{params}")
    if case.path.startswith("/api/v1/admin/") or rng.random() >= REAL_VALUE_SHARE:
        return
    known = HUB_DATA.get()
    for name in params:
        if known.get(name):
            params[name] = rng.choice(known[name])


def probes_missing_signature(case: Any) -> bool:
    """A coverage case that leaves the signature header out on purpose (`missing_required_header`
    expects a refusal): signing it would put the header back."""
    data = case.meta.phase.data if case.meta is not None else None
    return (
        isinstance(data, CoveragePhaseData)
        and data.scenario == CoverageScenario.MISSING_PARAMETER
        and data.parameter_location == ParameterLocation.HEADER
        and (data.parameter or "").lower() == SIGNATURE_HEADER
    )


SIGNATURE_HEADER = "x-gridcoop-signature"


def forget_upgraded_connection(response: Any, *args: Any, **kwargs: Any) -> Any:
    """After a WebSocket handshake (101) the connection speaks WebSocket frames: close it rather
    than let `requests` reuse it for the next HTTP request (which would read a frame)."""
    if response.status_code == 101:
        connection = getattr(response.raw, "connection", None)
        if connection is not None:
            connection.close()
    return response


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    use_real_values(case)
    protect_fuzzing_home(case)
    sign_body(case)
    if not probes_missing_signature(case):
        kwargs["auth"] = signing.HomeSigner(CREDENTIALS)
    if case.path == "/api/v1/ws":
        kwargs["hooks"] = {"response": [forget_upgraded_connection]}


# -- known bugs (see test_known_bugs.py) ----------------------------------------------------------


def _path_int_beyond_int64(case: Any, response: Any) -> bool:
    """500 when an integer path parameter does not fit the database's 64-bit INTEGER."""
    if response.status_code != 500:
        return False
    for value in (case.path_parameters or {}).values():
        try:
            number = int(str(value))
        except ValueError:
            continue
        if not -INT64_MAX - 1 <= number <= INT64_MAX:
            return True
    return False


def _int_beyond_int64_in_body(case: Any, response: Any) -> bool:
    """500 when a signed reading, bid or order carries a `seq` beyond 64 bits (the store cannot
    write it), or an admin invite a `bus` beyond 64 bits."""
    operations = {*BUILDERS, ("POST", "/api/v1/admin/invites")}
    if response.status_code != 500 or (case.method.upper(), case.path) not in operations:
        return False
    return _has_big_int(case.body)


def _has_big_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -INT64_MAX - 1 <= value <= INT64_MAX
    if isinstance(value, dict):
        return any(_has_big_int(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_big_int(item) for item in value)
    return False


def _unhashable_transaction_kind(case: Any, response: Any) -> bool:
    """500 (TypeError) when a ledger transaction's `kind` is an object or a list."""
    return (
        response.status_code == 500
        and (case.method.upper(), case.path) == ("POST", "/api/v1/ledger/transactions")
        and isinstance(case.body, dict)
        and isinstance(case.body.get("kind"), dict | list)
    )


def _undocumented_validator_422(case: Any, response: Any) -> bool:
    """POST /api/v1/ledger/validators answers 422 invalid_entry, which the document omits."""
    return response.status_code == 422 and (case.method.upper(), case.path) == (
        "POST",
        "/api/v1/ledger/validators",
    )


# Failures that are known, reported hub bugs and not yet fixed (none at the moment: the ones
# fuzzing found are fixed and kept as tests in test_known_bugs.py).
KNOWN_BUGS: dict[str, Callable[[Any, Any], bool]] = {}


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if os.environ.get("GRIDCOOP_FUZZ_SHOW_KNOWN"):  # report known bugs as failures too
        return True
    for name, matches in KNOWN_BUGS.items():
        if matches(case, response):
            log = os.environ.get(KNOWN_LOG_ENV)
            if log:
                with open(log, "a") as handle:
                    handle.write(f"{name}\t{case.method.upper()} {case.formatted_path}\n")
            return False
    return True
