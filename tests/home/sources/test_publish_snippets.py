"""The configuration snippets of docs/inputs.md read what `nordpool_attributes` publishes.

EMHASS's payload template is rendered with Jinja's sandbox (Home Assistant's template engine is
one; `state_attr` is stubbed), evcc's jq expression is run with the `jq` program on a Home
Assistant `/api/states/<entity>` answer, and Predbat's reading rules (from its
`fetch_octopus_rates`) are checked against the attributes. What they produce is read back with
our own parsers and must give the published prices.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gridcoop_home.sources import (
    nordpool_attributes,
    parse_price_list,
    parse_price_map,
    prices_for_slots,
)

from tests.home.sources.shapes import BERLIN

yaml = pytest.importorskip("yaml")
DOC = Path(__file__).resolve().parents[3] / "docs" / "inputs.md"
ENTITY = "sensor.gridcoop_local_price"
NOW = datetime(2026, 10, 20, 14, 15, tzinfo=BERLIN)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _snippet(heading: str) -> dict[str, Any]:
    """The first ```yaml block after `### heading` in docs/inputs.md, parsed."""
    text = DOC.read_text()
    section = text[text.index(f"### {heading}\n") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"no yaml block under {heading}"
    parsed: dict[str, Any] = yaml.safe_load(block.group(1))
    return parsed


def _published() -> tuple[list[float], dict[str, Any]]:
    prices = [10.0 + (i % 96) * 0.25 for i in range(39 + 96)]  # 14:15 today to tomorrow's end
    return prices, nordpool_attributes(NOW, prices, currency="EUR", now=NOW, tz=BERLIN)


def test_emhass_payload_template_gives_the_published_prices() -> None:
    sandbox = pytest.importorskip("jinja2.sandbox")
    prices, attributes = _published()
    command = _snippet("EMHASS")["rest_command"]["emhass_naive_mpc"]
    assert command["url"].endswith("/action/naive-mpc-optim")
    env = sandbox.ImmutableSandboxedEnvironment()

    def state_attr(entity_id: str, name: str) -> Any:
        assert entity_id == ENTITY
        return attributes.get(name)

    payload = json.loads(env.from_string(command["payload"]).render(state_attr=state_attr))
    assert payload["optimization_time_step"] == 15
    assert payload["load_cost_forecast"] == payload["prod_price_forecast"]
    costs = payload["load_cost_forecast"]
    assert len(costs) == len(prices)
    assert all(isinstance(v, float) for v in costs.values())  # EMHASS warns on non-numbers
    series = parse_price_map(costs, unit="EUR/kWh")
    assert prices_for_slots(series, NOW, len(prices)).prices == pytest.approx(prices)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the jq program is not installed")
def test_evcc_jq_gives_rates_with_rfc3339_times() -> None:
    prices, attributes = _published()
    tariffs = _snippet("evcc")["tariffs"]
    for role in ("grid", "feedin"):
        forecast = tariffs[role]["forecast"]
        assert tariffs[role]["type"] == "custom"
        assert forecast["source"] == "http"
        assert forecast["uri"].endswith(f"/api/states/{ENTITY}")
        state = {
            "entity_id": ENTITY,
            "state": str(attributes["current_price"]),
            "attributes": attributes,
        }
        done = subprocess.run(
            ["jq", "-r", forecast["jq"]],
            input=json.dumps(state),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        rates = json.loads(done.stdout)  # evcc unmarshals the string into []api.Rate
        assert all(set(rate) == {"start", "end", "value"} for rate in rates)
        assert all(RFC3339.match(r["start"]) and RFC3339.match(r["end"]) for r in rates)
        series = parse_price_list(rates, unit="EUR/kWh")
        assert prices_for_slots(series, NOW, len(prices)).prices == pytest.approx(prices)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the jq program is not installed")
def test_evcc_jq_survives_an_entity_without_price_lists() -> None:
    jq = _snippet("evcc")["tariffs"]["grid"]["forecast"]["jq"]
    state = {"entity_id": ENTITY, "state": "unavailable", "attributes": {}}
    done = subprocess.run(
        ["jq", "-r", jq],
        input=json.dumps(state),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(done.stdout) == []


def test_predbat_reads_raw_today_then_raw_tomorrow_as_start_end_value() -> None:
    _, attributes = _published()
    settings = _snippet("Predbat")
    assert settings["metric_octopus_import"] == ENTITY
    assert settings["plan_interval_minutes"] == 15
    # fetch_octopus_rates: ids with "_current_rate" are rewritten to Octopus event entities.
    assert "_current_rate" not in ENTITY
    # It takes the first of rates / all_rates / raw_today / prices, then adds raw_tomorrow.
    assert not {"rates", "all_rates", "prices"} & attributes.keys()
    first = attributes["raw_today"][0]
    # No "rate"/"from" keys: it falls to start/end (scaled x100) and the value key "value".
    assert set(first) == {"start", "end", "value"}
    times = [
        datetime.fromisoformat(r["start"])
        for r in attributes["raw_today"] + attributes["raw_tomorrow"]
    ]
    assert all(t.tzinfo is not None for t in times)  # str2time wants an offset
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(times))
