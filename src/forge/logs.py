"""Structured logging: one JSON object per line. Nothing here ever receives a secret."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class _Clock:
    """`2026-12-03T13:40:05.123Z`, UTC, as `datetime.isoformat(timespec="milliseconds")` gives
    it; the date and time of day formatted once per second (a line per request)."""

    def __init__(self) -> None:
        self._formatted = (-1, "")  # one tuple: threads log too

    def __call__(self) -> str:
        second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
        formatted_second, prefix = self._formatted
        if second != formatted_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._formatted = (second, prefix)
        return f"{prefix}.{nanoseconds // 1_000_000:03d}Z"


_timestamp = _Clock()


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
        self.stream.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE).decode())
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
