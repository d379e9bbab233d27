"""The clicks a homeowner makes in Home Assistant's UI, as its REST API takes them: join a hub,
set the options, add a device. Shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

from tests.e2e_ha.home_assistant import HomeAssistant


def join_hub(ha: HomeAssistant, hub_url: str, join_code: str, home_name: str) -> str:
    """Add the integration with a join code; `home_name` is the name the hub gave the code.
    Returns the new entry's id."""
    menu = ha.start_flow("gridcoop")
    assert menu["type"] == "menu", menu
    assert set(menu["menu_options"]) == {"hub", "island"}
    form = ha.flow_step(menu["flow_id"], {"next_step_id": "hub"})
    assert form["type"] == "form" and form["step_id"] == "hub", form
    created = ha.flow_step(form["flow_id"], {"url": hub_url, "join_code": join_code})
    assert created["type"] == "create_entry", created
    assert created["title"] == home_name
    entry_id: str = created["result"]["entry_id"]
    return entry_id


def set_options(ha: HomeAssistant, entry_id: str, **values: Any) -> None:
    """Read, plan and bid every 10 s instead of every minute (the test hubs clear every 12-20 s),
    plus any other option given."""
    form = ha.start_flow(entry_id, kind="options")
    assert form["type"] == "form", form
    values = {"reading_interval": 10, "outage_repair_minutes": 30, **values}
    done = ha.flow_step(form["flow_id"], values, kind="options")
    assert done["type"] == "create_entry", done


def add_device(ha: HomeAssistant, entry_id: str, kind: str, values: dict[str, Any]) -> None:
    step = ha.start_flow([entry_id, kind], kind="subentries")
    if step["type"] == "menu":
        step = ha.flow_step(step["flow_id"], {"next_step_id": "entities"}, kind="subentries")
    assert step["type"] == "form" and step["step_id"] == "entities", step
    done = ha.flow_step(step["flow_id"], values, kind="subentries")
    assert done["type"] == "create_entry", done


def entry_loaded(ha: HomeAssistant, entry_id: str) -> bool:
    return ha.entry_state(entry_id) == "loaded"
