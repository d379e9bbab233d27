"""Home Assistant integration tests: run them with the Home Assistant venv (.venv-ha).

Import our `custom_components` before Home Assistant's test harness can put its own testing
`custom_components` package first on the path (docs/development.md#known-pitfalls). Without
Home Assistant installed (the hub's own .venv) these tests are skipped from collection instead
of failing.
"""

import importlib.util

import custom_components  # noqa: F401  (must precede Home Assistant's own import of the name)

if importlib.util.find_spec("pytest_homeassistant_custom_component") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    from .common import (  # noqa: F401  (fixtures are found by name in conftest)
        auto_enable_custom_integrations,
        fake_hub,
        fake_ledger,
        frozen,
        snapshot,
    )
