"""Diagnostics: what the integration sees, with keys and the join code redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_HOME_KEY, CONF_HOST, CONF_JOIN_CODE, CONF_METER_KEYS
from .data import GridCoopConfigEntry

TO_REDACT = {CONF_HOME_KEY, CONF_METER_KEYS, CONF_JOIN_CODE, CONF_HOST}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GridCoopConfigEntry
) -> dict[str, Any]:
    runtime = entry.runtime_data
    home = runtime.home.data
    market = runtime.market
    ledger = runtime.ledger
    ledger_data = ledger.data if ledger is not None else None
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "devices": [
                {
                    "kind": d.kind,
                    "title": d.title,
                    "data": async_redact_data(dict(d.data), TO_REDACT),
                }
                for d in runtime.devices.values()
            ],
        },
        "home": None
        if home is None
        else {
            "snapshots": {
                runtime.devices[sub_id].title: {
                    "power_w": snap.power_w,
                    "import_wh": snap.import_wh,
                    "export_wh": snap.export_wh,
                    "soc_pct": snap.soc_pct,
                    "online": snap.online,
                    "missing": list(snap.missing),
                }
                for sub_id, snap in home.snapshots.items()
            },
            "planned": home.plan is not None,
            "plan_start": home.plan_start.isoformat() if home.plan_start else None,
            "plan_error": home.plan_error,
            "plan_warnings": list(home.plan.warnings) if home.plan else [],
            "backlog": home.backlog,
            "last_bid": home.last_bid,
        },
        "market": None
        if market is None
        else {
            "last_update_success": market.last_update_success,
            "stream_connected": market.stream_connected,
            "info": market.data.info if market.data else None,
            "cleared_intervals": len(market.data.intervals) if market.data else 0,
        },
        "ledger": None
        if ledger is None
        else {
            "enabled": ledger.enabled,
            "last_update_success": ledger.last_update_success,
            "height": ledger_data.height if ledger_data else None,
            "final_height": ledger_data.final_height if ledger_data else None,
            "token_unit_wh": ledger_data.token_unit_wh if ledger_data else None,
            "account": asdict(ledger_data.account)
            if ledger_data is not None and ledger_data.account is not None
            else None,
        },
        "last_dispatch": {
            runtime.devices[sub_id].title: command
            for sub_id, command in runtime.dispatcher.last.items()
        },
    }
