"""Optional dependencies (pyproject.toml's extras): checked when the command that needs one runs.

A plain `pip install gridcoop-hub` serves, invites and verifies; the simulator, PostgreSQL, YAML
feeder files and the native BLS backend each need an extra. A command that needs a missing one
stops with one line naming the extra to install, never a traceback.
"""

from __future__ import annotations

import importlib.util

# extra -> the modules it provides (import names) and what it is for
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "sim": (("pandas", "demandlib", "pvlib", "matplotlib"), "the simulator"),
    "postgres": (("asyncpg",), "a PostgreSQL database"),
    "yaml": (("yaml",), "feeder files in YAML"),
    "ledger-native": (("py_arkworks_bls12381",), "the native BLS backend"),
}


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message says which extra brings it."""

    def __init__(self, extra: str, module: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{extra}' extra ({module} is not installed): "
            f"pip install 'gridcoop-hub[{extra}]' (from a checkout: pip install './home' "
            f"'.[{extra}]')"
        )
        self.extra = extra
        self.module = module


def missing_module(modules: tuple[str, ...]) -> str | None:
    """The first of these modules that cannot be imported here (None when all can)."""
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):  # a parent package is missing, or a None placeholder
            return module
    return None


def require_extra(extra: str, purpose: str | None = None) -> None:
    """Raise MissingExtra unless every module of `extra` is installed."""
    modules, default_purpose = EXTRAS[extra]
    module = missing_module(modules)
    if module is not None:
        raise MissingExtra(extra, module, purpose or default_purpose)
