"""Imports flow one way: Home Assistant -> home library; hub.server -> hub.service -> domain.

Read from the source with `ast`, so a forbidden import fails here before anyone installs anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER_STACK = ("aiohttp.web", "sqlalchemy", "aiosqlite", "asyncpg")

# package (as a folder) -> module prefixes it must never import
RULES: dict[str, tuple[str, ...]] = {
    # The home library is what Home Assistant and a witness install: no hub, no HA, no SQL.
    "home/gridcoop_home": ("hub", "homeassistant", "custom_components", *SERVER_STACK),
    # The integration is a thin adapter over the home library.
    "custom_components/gridcoop": ("hub",),
    # Pure domain code: no server, store, application layer, HTTP server or Home Assistant.
    "hub/market": (
        "hub.server",
        "hub.store",
        "hub.service",
        "hub.ledger",
        "hub.sim",
        "aiohttp",
        "homeassistant",
        *SERVER_STACK,
    ),
    "hub/grid": (
        "hub.server",
        "hub.store",
        "hub.service",
        "hub.ledger",
        "hub.sim",
        "aiohttp",
        "homeassistant",
        *SERVER_STACK,
    ),
    "hub/ledger/chain": (
        "hub.server",
        "hub.store",
        "hub.service",
        "hub.sim",
        "aiohttp",
        "homeassistant",
        *SERVER_STACK,
    ),
    "hub/ledger/accounts": (
        "hub.server",
        "hub.store",
        "hub.service",
        "hub.sim",
        "aiohttp",
        "homeassistant",
        *SERVER_STACK,
    ),
    # The application layer sits between HTTP and the domain: it never reaches up.
    "hub/service": ("hub.server", "hub.sim", "aiohttp.web", "homeassistant"),
    "hub/store": ("hub.server", "hub.service", "hub.sim", "aiohttp", "homeassistant"),
    # The simulator runs the same application code as the server, not the server.
    "hub/sim": ("hub.server",),
}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _forbidden(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_imports_only_downwards(package: str) -> None:
    folder = REPO / package
    assert folder.is_dir(), f"{package} is gone: update RULES"
    broken = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in sorted(folder.rglob("*.py"))
        for line, name in _imports(path)
        if _forbidden(name, RULES[package])
    ]
    assert not broken, "\n".join(broken)


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from hub.server.app import make_app\nimport aiohttp.web\n")
    names = [name for _, name in _imports(module)]
    assert _forbidden("hub.server.app", RULES["hub/service"])
    assert any(_forbidden(n, RULES["hub/service"]) for n in names)
    assert not _forbidden("hubris", ("hub",))
