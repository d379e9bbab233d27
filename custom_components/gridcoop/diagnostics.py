"""Diagnostics: what the integration sees, with keys and the join code redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_HOME_KEY, CONF_HOST, CONF_JOIN_CODE, CONF_METER_KEYS
from .data import GridCoopConfigEntry, GridCoopRuntime

TO_REDACT = {CONF_HOME_KEY, CONF_METER_KEYS, CONF_JOIN_CODE, CONF_HOST}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GridCoopConfigEntry
) -> dict[str, Any]:
    runtime = entry.runtime_data
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "devices": [
                {
                    "kind": d.kind,
                    "title": d.title,
                    "asset": d.asset,  # the tag of the hub's dispatch commands for it
                    "data": async_redact_data(dict(d.data), TO_REDACT),
                }
                for d in runtime.devices.values()
            ],
        },
        "home": _home(runtime),
        "market": _market(runtime),
        "ledger": _ledger(runtime),
        "last_dispatch": {
            runtime.devices[sub_id].title: command
            for sub_id, command in runtime.dispatcher.last.items()
        },
        "manual_overrides": {
            runtime.devices[sub_id].title: {
                "since": o.since.isoformat(),
                "until": o.until.isoformat() if o.until else None,
            }
            for sub_id, o in runtime.dispatcher.overrides.active.items()
        },
    }


def _home(runtime: GridCoopRuntime) -> dict[str, Any]:
    home = runtime.home.data
    return {
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
    }


def _market(runtime: GridCoopRuntime) -> dict[str, Any] | None:
    if runtime.hub is None:
        return None
    market = runtime.hub.market
    return {
        "last_update_success": market.last_update_success,
        "stream_connected": market.stream_connected,
        "info": asdict(market.data.info) if market.data else None,
        "cleared_intervals": len(market.data.intervals) if market.data else 0,
    }


def _ledger(runtime: GridCoopRuntime) -> dict[str, Any] | None:
    if runtime.hub is None:
        return None
    ledger = runtime.hub.ledger
    data = ledger.data
    return {
        "enabled": ledger.enabled,
        "last_update_success": ledger.last_update_success,
        "height": data.height if data else None,
        "final_height": data.final_height if data else None,
        "token_unit_wh": data.token_unit_wh if data else None,
        "last_settled": data.last_settled if data else None,
        "account": asdict(data.account) if data is not None and data.account is not None else None,
        "proof": data.proof if data else None,
        "proof_reason": data.proof_reason if data else None,
        # What the home's light client trusts: which validators, and the block it verified last.
        "light_client": ledger.trust.client.to_dict() if ledger.trust.client else None,
    }
