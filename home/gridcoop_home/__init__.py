"""GridCoop's home library: what a home needs to take part in a neighbourhood market.

The wire protocol, a typed client for the hub, the home planner, SunSpec devices and the ledger's
light-client checks. Home Assistant free and server free: the Home Assistant integration and a
witness install this, never the hub service.
"""

# scripts/set-version writes the repository's one version here (tests/repo/test_release.py).
__version__ = "0.2.0"
