"""Structured logs: one JSON object per line (or plain text for humans at a terminal)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has (and the two the formatter adds); anything else came in through
# `extra=` and is structured data. `logging` raises KeyError for an `extra` key among them, but
# only when the level is enabled: a clash hides at WARNING and breaks the caller at INFO.
RESERVED_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_STANDARD = RESERVED_FIELDS


def safe_fields(extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra` with every key that would clash with a LogRecord attribute renamed `<key>_`."""
    return {f"{key}_" if key in RESERVED_FIELDS else key: value for key, value in extra.items()}


class StructuredLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger whose structured fields (`extra=`) can never make a log call raise: a field named
    like a LogRecord attribute (`name`, `msg`, `args`, ...) is logged as `<name>_` instead."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = kwargs.get("extra")
        if extra:
            kwargs["extra"] = safe_fields(extra)
        return msg, kwargs


def get_logger(name: str) -> StructuredLogger:
    """The logger every hub module that logs structured fields uses (tests/repo checks it)."""
    return StructuredLogger(logging.getLogger(name))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _STANDARD)
        stamp = datetime.fromtimestamp(record.created, UTC)
        line = f"{stamp:%H:%M:%S} {record.levelname:<7} {record.getMessage()}"
        if extras:
            line += f" {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
