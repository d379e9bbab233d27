"""GridCoop: neighbourhood energy sharing (hub, market, planner, protocol). Home Assistant free."""

__version__ = "0.1.0"
