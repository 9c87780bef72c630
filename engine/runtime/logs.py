"""Structured logs: a short message with fields beside it, secrets scrubbed.

Field values and the message are scrubbed before the line is formatted
(quoting or JSON would escape a secret's quotes, backslashes and newlines),
and the finished line once more.

Text lines on a terminal or in files (``2026-11-29T03:15:00Z info file published
file=out.csv records=1200``), or one JSON object per line with
``--log-format json`` for log collectors.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from typing_extensions import override

from engine.jsonutil import dumps
from engine.secrets import redactor

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _value(v: Any) -> str:
    """A field's value for a text line: secrets scrubbed before it is quoted (quoting escapes them)."""
    text = redactor.scrub(str(v))
    if not text.isprintable():  # ASCII escapes: a name can neither forge a line nor reorder one
        return json.dumps(text)
    if not text or any(c in text for c in ' \t\n"='):
        return dumps(text)
    return text


class Log:
    """``log.info("file published", file=..., records=...)``."""

    def __init__(self, name: str = "engine", **bound: Any) -> None:
        self._logger = logging.getLogger(name)
        self._bound = bound

    def bind(self, **fields: Any) -> Log:
        """A logger that adds ``fields`` to every line it writes."""
        return Log(self._logger.name, **{**self._bound, **fields})

    def _emit(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, message, extra={"fields": {**self._bound, **fields}})

    def debug(self, message: str, **fields: Any) -> None:
        """Log at debug level with structured fields."""
        self._emit(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        """Log at info level with structured fields."""
        self._emit(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        """Log at warning level with structured fields."""
        self._emit(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        """Log at error level with structured fields."""
        self._emit(logging.ERROR, message, fields)


class TextFormatter(logging.Formatter):
    """``TIMESTAMP level message key=value ...``, for people reading a terminal."""

    @override
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = _fields(record)
        extra = " ".join(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)
        message = redactor.scrub(record.getMessage())
        line = f"{ts} {record.levelname.lower():7} {message}" + (f" {extra}" if extra else "")
        return redactor.scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    @override
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            **{k: v for k, v in fields.items() if v is not None},
        }
        # scrubbed before encoding (JSON escapes a secret's quotes and newlines), and the line once more
        return redactor.scrub(dumps(redactor.scrub_obj(data)))


def configure(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """Send the engine's log lines to ``stream`` (stderr) in ``fmt`` (text or json); returns the handler."""
    logger = logging.getLogger("engine")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(LEVELS.get(level, logging.INFO))
    logger.propagate = False
    return handler


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a :class:`Log` call attached to ``record`` (none for foreign loggers)."""
    return record.__dict__.get("fields") or {}
