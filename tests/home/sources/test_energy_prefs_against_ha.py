"""The Energy preferences fixtures are what Home Assistant itself accepts and migrates.

Runs where Home Assistant is installed (the `.venv-ha` pass of scripts/test); skipped elsewhere.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from gridcoop_home.sources import parse_energy_preferences

from tests.home.sources.test_energy_prefs import PREFS_2026, PREFS_LEGACY

energy_data = pytest.importorskip("homeassistant.components.energy.data")


def test_the_2026_fixture_passes_home_assistants_own_schema() -> None:
    sources = energy_data.ENERGY_SOURCE_SCHEMA(copy.deepcopy(PREFS_2026["energy_sources"]))
    for device in PREFS_2026["device_consumption"]:
        energy_data.DEVICE_CONSUMPTION_SCHEMA(copy.deepcopy(device))
    # What HA keeps after validation reads the same as what we were given.
    assert parse_energy_preferences({"energy_sources": sources}).grids == (
        parse_energy_preferences(PREFS_2026).grids
    )


def test_legacy_grids_read_like_home_assistants_migration_of_them() -> None:
    legacy_grid = PREFS_LEGACY["energy_sources"][0]
    for flow in legacy_grid["flow_from"]:
        energy_data.FLOW_FROM_GRID_SOURCE_SCHEMA(copy.deepcopy(flow))
    for flow in legacy_grid["flow_to"]:
        energy_data.FLOW_TO_GRID_SOURCE_SCHEMA(copy.deepcopy(flow))
    migrated: list[dict[str, Any]] = energy_data._migrate_legacy_grid_to_unified(
        copy.deepcopy(legacy_grid)
    )
    energy_data.ENERGY_SOURCE_SCHEMA(copy.deepcopy(migrated))
    ours = parse_energy_preferences(PREFS_LEGACY)
    theirs = parse_energy_preferences({"energy_sources": migrated})
    assert ours.grids == theirs.grids
    assert ours.legacy_grid_format and not theirs.legacy_grid_format
