"""Fixtures of the ``http`` plugin tests: a live test API and specs pointing at it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.server import ApiServer

#: retries fast enough for tests, patient enough for a Retry-After of a second
FAST_RETRY = {"max_attempts": 5, "backoff": "10ms", "max_backoff": "100ms", "max_elapsed": "60s"}


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


def connection(api: ApiServer, auth: dict[str, Any] | None = None, **options: Any) -> str:
    """A ``connections:`` block (JSON flow style) named ``api``."""
    block: dict[str, Any] = {
        "type": "http",
        "base_url": api.url,
        "retry": FAST_RETRY,
        "read_timeout": "5s",
        **options,
    }
    if auth is not None:
        block["auth"] = auth
    return "connections:\n  api: " + json.dumps(block) + "\n"


def block(name: str, value: dict[str, Any]) -> str:
    return f"{name}: " + json.dumps(value) + "\n"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything the engine logs during the test, as the CLI would print it (debug level)."""
    from engine.runtime.logs import TextFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("engine")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def rejects(report: Any) -> list[dict[str, Any]]:
    from pathlib import Path

    if not report.rejects_path:
        return []
    return [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines() if line.strip()]
