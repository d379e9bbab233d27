"""Home Assistant custom integrations shipped with GridCoop (docs/development.md#known-pitfalls:
the package must exist so tests import ours before Home Assistant's testing `custom_components`
can shadow it)."""
