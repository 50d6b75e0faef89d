"""Structured logging: one JSON object per line. Nothing here ever receives a secret."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson

from forge.clock import utcnow

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _timestamp() -> str:
    return utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class AccessLog:
    """The per-request line. Written straight to the stream rather than through `logging`:
    a LogRecord and its formatting cost ~20 µs, a tenth of an authenticated GET (measured)."""

    def __init__(self) -> None:
        self.stream: TextIO | None = None

    def write(self, fields: dict[str, Any]) -> None:
        if self.stream is None:
            return
        line = {"ts": _timestamp(), "level": "info", "logger": "forge.access", "msg": "request"}
        line.update(fields)
        self.stream.write(orjson.dumps(line).decode() + "\n")
        self.stream.flush()


access_log = AccessLog()


def configure(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("forge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    access_log.stream = stream
