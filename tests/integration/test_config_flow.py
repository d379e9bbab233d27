"""Every config-flow branch ends in an entry, an abort or a translated form error."""

from __future__ import annotations

import pytest
from gridcoop_home.client.errors import HubUnreachable, error_for
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.gridcoop.const import (
    CONF_HOME_ID,
    CONF_HOME_KEY,
    CONF_JOIN_CODE,
    CONF_LEDGER_PIN,
    CONF_METER_KEYS,
    CONF_URL,
    DOMAIN,
    MODE_HUB,
    MODE_ISLAND,
)

from .common import HOME_ID, HUB_URL, FakeHub, FakeLedger, hub_entry, info, island_entry


async def _hub_form(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hub"
    return result["flow_id"]


async def test_join_hub_creates_entry_with_fresh_keys(
    hass: HomeAssistant, fake_hub: FakeHub
) -> None:
    flow_id = await _hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL + "/", CONF_JOIN_CODE: " code-123 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Maple Street 4"
    assert result["result"].unique_id == HOME_ID
    data = result["data"]
    assert data["mode"] == MODE_HUB
    assert data[CONF_URL] == HUB_URL
    assert data[CONF_HOME_ID] == HOME_ID
    SigningKey.from_text(data[CONF_HOME_KEY])  # a real private key
    assert sorted(data[CONF_METER_KEYS]) == ["battery", "ev", "grid", "pv"]
    assert len({data[CONF_HOME_KEY], *data[CONF_METER_KEYS].values()}) == 5
    assert CONF_LEDGER_PIN not in data  # this hub keeps no ledger


async def test_joining_pins_the_ledger_validators_the_home_sees_then(
    hass: HomeAssistant, fake_hub: FakeHub, fake_ledger: FakeLedger
) -> None:
    flow_id = await _hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code-123"}
    )
    head = await fake_ledger.head()
    pin = result["data"][CONF_LEDGER_PIN]
    assert pin == {k: head[k] for k in ("chain_id", "threshold", "validators")}


@pytest.mark.parametrize(
    ("enrol_error", "info_error", "protocol", "expected"),
    [
        (None, HubUnreachable("refused"), 1, "cannot_connect"),
        (None, error_for(500, "boom", "x"), 1, "cannot_connect"),
        (None, None, 2, "incompatible_hub"),
        (error_for(404, "unknown_join_code", "x"), None, 1, "invalid_join_code"),
        (error_for(410, "expired_join_code", "x"), None, 1, "expired_join_code"),
        (error_for(409, "used_join_code", "x"), None, 1, "used_join_code"),
        (error_for(409, "duplicate_key", "x"), None, 1, "unknown"),
        (HubUnreachable("gone"), None, 1, "cannot_connect"),
    ],
)
async def test_join_errors_then_recover(
    hass: HomeAssistant,
    fake_hub: FakeHub,
    enrol_error: Exception | None,
    info_error: Exception | None,
    protocol: int,
    expected: str,
) -> None:
    flow_id = await _hub_form(hass)
    fake_hub.enrol_error = enrol_error
    fake_hub.fail = info_error
    fake_hub.info_data = info(protocol)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": expected}
    fake_hub.enrol_error = fake_hub.fail = None
    fake_hub.info_data = info()
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_home_twice_aborts(hass: HomeAssistant, fake_hub: FakeHub) -> None:
    hub_entry().add_to_hass(hass)
    flow_id = await _hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_island_home(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "island"}
    )
    assert result["step_id"] == "island"
    values = {
        "name": "Cabin",
        "retail_price": 0.25,
        "feed_in_price": 0.05,
        "currency": "EUR",
        "grid_limit_kw": 7.0,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cabin"
    assert result["data"]["mode"] == MODE_ISLAND
    assert result["data"]["retail_price"] == 0.25
    # The same island twice is refused.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "island"}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], values)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth_enrols_new_keys(hass: HomeAssistant, fake_hub: FakeHub) -> None:
    entry = hub_entry()
    entry.add_to_hass(hass)
    old_key = entry.data[CONF_HOME_KEY]
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    fake_hub.enrol_error = error_for(410, "expired_join_code", "x")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_JOIN_CODE: "old"}
    )
    assert result["errors"] == {"base": "expired_join_code"}
    fake_hub.enrol_error = None
    fake_hub.home_id = "ffff000011112222"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_JOIN_CODE: "new"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.unique_id == "ffff000011112222"
    assert entry.data[CONF_HOME_ID] == "ffff000011112222"
    assert entry.data[CONF_HOME_KEY] != old_key


async def test_reconfigure_changes_url(hass: HomeAssistant, fake_hub: FakeHub) -> None:
    entry = hub_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    new_url = "http://new-hub.test:9000"
    fake_hub.fail = HubUnreachable("no")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: new_url})
    assert result["errors"] == {"base": "cannot_connect"}
    fake_hub.fail = None
    fake_hub.home_id = "someone-else"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: new_url})
    assert result["errors"] == {"base": "unknown_home"}
    fake_hub.home_id = HOME_ID
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: new_url})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_URL] == new_url


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (HubUnreachable("x"), "cannot_connect"),
        (error_for(403, "home_revoked", "x"), "unknown_home"),
    ],
)
async def test_reconfigure_home_check_errors(
    hass: HomeAssistant, fake_hub: FakeHub, error: Exception, expected: str
) -> None:
    entry = hub_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    async def home() -> dict[str, str]:
        raise error

    fake_hub.home = home  # type: ignore[method-assign]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: HUB_URL})
    assert result["errors"] == {"base": expected}


async def test_reconfigure_island_aborts(hass: HomeAssistant) -> None:
    entry = island_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "island_no_hub"


async def test_options_flow(hass: HomeAssistant) -> None:
    entry = island_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    options = {"reading_interval": 30, "outage_repair_minutes": 5, "override_minutes": 0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == options


async def test_options_flow_picks_a_price_and_a_carbon_entity(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.nordpool_kwh_fi_eur", "0.1")
    hass.states.async_set("sensor.co2_intensity", "120")
    entry = island_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    options = {
        "reading_interval": 60,
        "outage_repair_minutes": 30,
        "override_minutes": 240,
        "price_entity": "sensor.nordpool_kwh_fi_eur",
        "carbon_entity": "sensor.co2_intensity",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == options


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("hub.local:8080", "http://hub.local:8080"),
        ("127.0.0.1:18960/", "http://127.0.0.1:18960"),
        (" HTTP://Hub.Local:8787/ ", "http://hub.local:8787"),
        ("https://hub.example.org/gridcoop/", "https://hub.example.org/gridcoop"),
    ],
)
async def test_an_address_without_a_scheme_means_http(
    hass: HomeAssistant, fake_hub: FakeHub, typed: str, stored: str
) -> None:
    flow_id = await _hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: typed, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == stored


@pytest.mark.parametrize(
    "typed",
    ["ftp://hub.local", "http://", "not a hub address", "http://[::1", "http://hub?x=1", ""],
)
async def test_an_address_that_is_no_url_is_a_form_error(
    hass: HomeAssistant, fake_hub: FakeHub, typed: str
) -> None:
    flow_id = await _hub_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: typed, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_url"}


async def test_an_unexpected_failure_is_a_form_error_then_the_next_try_joins(
    hass: HomeAssistant, fake_hub: FakeHub
) -> None:
    flow_id = await _hub_form(hass)
    fake_hub.enrol_error = RuntimeError("something nobody planned for")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    fake_hub.enrol_error = None
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_URL: HUB_URL, CONF_JOIN_CODE: "code"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
