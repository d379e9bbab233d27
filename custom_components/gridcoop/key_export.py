"""The `export_home_key` action: write this home's key to a file, so that a witness on another
machine (`gridcoop-hub witness --home-key FILE`) can register for this home.

The key signs everything the home sends, so the action is for administrators only, writes the
file with mode 0600 into `<config>/gridcoop/` (never over an existing file) and answers with the
file's path, never with the key itself (action responses can end up in traces and logs).
"""

from __future__ import annotations

import os
from pathlib import Path

import voluptuous as vol
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service

from .const import CONF_HOME_ID, CONF_HOME_KEY, DOMAIN

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
EXPORT_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
KEY_FOLDER = "gridcoop"


def write_key_file(path: Path, key_text: str) -> None:
    """Create `path` (mode 0600, its folder 0700) holding the key's text on one line; an existing
    file raises FileExistsError and is left as it is."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key_text + "\n")


def gridcoop_entry(hass: HomeAssistant, call: ServiceCall) -> ConfigEntry:
    """The GridCoop entry an action names in `config_entry_id` (loaded or not)."""
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    return entry


async def _export_home_key(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    entry = gridcoop_entry(hass, call)
    if CONF_HOME_KEY not in entry.data:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_home_key")
    home_id = entry.data[CONF_HOME_ID]
    path = Path(hass.config.path(KEY_FOLDER, f"{home_id}-home.key"))
    try:
        await hass.async_add_executor_job(write_key_file, path, entry.data[CONF_HOME_KEY])
    except FileExistsError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="home_key_file_exists",
            translation_placeholders={"path": str(path)},
        ) from err
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="home_key_file_failed",
            translation_placeholders={"path": str(path), "reason": err.strerror or str(err)},
        ) from err
    return {"path": str(path), "home_id": home_id}


def async_setup_key_export(hass: HomeAssistant) -> None:
    async_register_admin_service(
        hass,
        DOMAIN,
        "export_home_key",
        _export_home_key,
        EXPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
