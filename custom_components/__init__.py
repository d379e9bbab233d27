"""Home Assistant custom integrations shipped with GridCoop (see DESIGN.md: the package must exist
so tests import ours before Home Assistant's testing `custom_components` can shadow it)."""
