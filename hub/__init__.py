"""GridCoop: neighbourhood energy sharing (hub, market, planner, protocol). Home Assistant free."""

# scripts/set-version writes the repository's one version here (tests/repo/test_release.py).
__version__ = "0.2.0"
