"""Structured log fields never clash with a LogRecord attribute.

`logger.info(..., extra={"name": ...})` raises KeyError inside `logging` when INFO is enabled and
does nothing at WARNING, so a clash hides in tests run at WARNING and turns a request into a 500
under a plain `gridcoop-hub serve` (issue 16). Read from the source with `ast`: every `extra=` is a
dict literal whose keys are not LogRecord attributes, and hub modules that log structured fields
take their logger from hub.logs.get_logger, which renames a clashing key instead of raising.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.logs import RESERVED_FIELDS, StructuredLogger, get_logger

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "home/gridcoop_home", "custom_components/gridcoop")


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO / package).rglob("*.py"))


def _extra_arguments(tree: ast.AST) -> Iterator[ast.keyword]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from (keyword for keyword in node.keywords if keyword.arg == "extra")


def _uses_std_logger(tree: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr == "getLogger" for node in ast.walk(tree)
    )


def test_the_scan_sees_the_structured_log_calls() -> None:
    """Not vacuous: the hub does log structured fields."""
    found = sum(1 for path in _sources() for _ in _extra_arguments(ast.parse(path.read_text())))
    assert found >= 5


@pytest.mark.parametrize("path", list(_sources()), ids=lambda path: str(path.relative_to(REPO)))
def test_extra_fields_are_literal_and_never_a_log_record_attribute(path: Path) -> None:
    tree = ast.parse(path.read_text())
    problems = []
    for keyword in _extra_arguments(tree):
        where = f"{path.relative_to(REPO)}:{keyword.value.lineno}"
        if not isinstance(keyword.value, ast.Dict):
            problems.append(f"{where}: extra= must be a dict literal (so it can be checked)")
            continue
        for key in keyword.value.keys:
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                problems.append(f"{where}: extra= keys must be string literals")
            elif key.value in RESERVED_FIELDS:
                problems.append(f"{where}: extra key {key.value!r} is a LogRecord attribute")
    assert problems == []
    if path.is_relative_to(REPO / "hub") and any(True for _ in _extra_arguments(tree)):
        assert not _uses_std_logger(tree), f"{path}: log structured fields via get_logger"


def test_the_reserved_fields_are_the_ones_logging_refuses() -> None:
    for key in ("name", "msg", "args", "message", "asctime", "levelname", "process"):
        assert key in RESERVED_FIELDS
        with pytest.raises(KeyError):
            logging.getLogger("gridcoop.test").makeRecord(
                "gridcoop.test", logging.INFO, __file__, 1, "x", (), None, extra={key: 1}
            )


def test_a_structured_logger_renames_a_clashing_field_instead_of_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = get_logger("gridcoop.test.fields")
    assert isinstance(logger, StructuredLogger)
    with caplog.at_level(logging.INFO, logger="gridcoop.test.fields"):
        logger.info("home invited", extra={"name": "House 1", "msg": "hi", "bus": 3})
    (record,) = caplog.records
    assert record.getMessage() == "home invited"
    assert record.name == "gridcoop.test.fields"
    fields = record.__dict__
    assert (fields["name_"], fields["msg_"], fields["bus"]) == ("House 1", "hi", 3)
