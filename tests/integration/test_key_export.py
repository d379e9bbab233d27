"""`gridcoop.export_home_key`: an administrator writes the home's key to a file for a witness on
another machine; the file is private, never overwritten, and the answer names it without the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from gridcoop_home.protocol.keys import SigningKey
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized

from custom_components.gridcoop.const import DOMAIN

from .common import HOME_ID, HOME_KEY, FakeHub, hub_entry, island_entry, setup_entry


async def export(hass: HomeAssistant, entry_id: str, context: Context | None = None) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "export_home_key",
        {"config_entry_id": entry_id},
        blocking=True,
        return_response=True,
        context=context,
    )


async def test_the_home_key_goes_to_a_private_file_and_not_into_the_answer(
    hass: HomeAssistant, fake_hub: FakeHub, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = hub_entry()
    await setup_entry(hass, entry)

    answer = await export(hass, entry.entry_id)

    path = tmp_path / "gridcoop" / f"{HOME_ID}-home.key"
    assert answer == {"path": str(path), "home_id": HOME_ID}
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "gridcoop").stat().st_mode & 0o777 == 0o700
    # What `gridcoop-hub witness --home-key FILE` reads: the key's text on one line.
    assert SigningKey.from_text(path.read_text().strip()).to_text() == HOME_KEY.to_text()
    assert HOME_KEY.to_text() not in str(answer)


async def test_an_existing_key_file_is_never_overwritten(
    hass: HomeAssistant, fake_hub: FakeHub, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = hub_entry()
    await setup_entry(hass, entry)
    path = tmp_path / "gridcoop" / f"{HOME_ID}-home.key"
    path.parent.mkdir()
    path.write_text("something else\n")

    with pytest.raises(ServiceValidationError) as refused:
        await export(hass, entry.entry_id)

    assert refused.value.translation_key == "home_key_file_exists"
    assert path.read_text() == "something else\n"


async def test_only_an_administrator_may_export_the_key(
    hass: HomeAssistant, fake_hub: FakeHub, hass_read_only_user: User, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = hub_entry()
    await setup_entry(hass, entry)

    with pytest.raises(Unauthorized):
        await export(hass, entry.entry_id, Context(user_id=hass_read_only_user.id))

    assert not (tmp_path / "gridcoop").exists()


async def test_an_island_home_has_no_key_and_an_unknown_entry_is_named(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = island_entry()
    await setup_entry(hass, entry)

    with pytest.raises(ServiceValidationError) as island:
        await export(hass, entry.entry_id)
    with pytest.raises(ServiceValidationError) as unknown:
        await export(hass, "no-such-entry")

    assert island.value.translation_key == "no_home_key"
    assert unknown.value.translation_key == "entry_not_found"


async def test_a_file_that_cannot_be_written_is_a_translated_error(
    hass: HomeAssistant, fake_hub: FakeHub, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    entry = hub_entry()
    await setup_entry(hass, entry)

    with (
        patch(
            "custom_components.gridcoop.key_export.write_key_file",
            side_effect=PermissionError(13, "Permission denied"),
        ),
        pytest.raises(HomeAssistantError) as failed,
    ):
        await export(hass, entry.entry_id)

    assert failed.value.translation_key == "home_key_file_failed"
    assert "Permission denied" in str(failed.value)
