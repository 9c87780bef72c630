"""Helpers shared by the Fluent target and source tests: specs that point at a live emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.emulator import Emulator

#: retries fast enough for tests, patient enough for a Retry-After of a second or two
FAST_RETRY = {"max_attempts": 6, "backoff": "20ms", "max_backoff": "200ms", "max_elapsed": "60s"}


def connection(emu: Emulator, *, read_timeout: str = "10s", retry: dict[str, Any] | None = None) -> str:
    """A ``connections:`` block (YAML flow style) for the emulator's demo account."""
    c = emu.credentials
    block = {
        "type": "fluent",
        "base_url": emu.url,
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"],
        "retailer_id": str(c["retailer_id"]),
        "read_timeout": read_timeout,
        "retry": retry or FAST_RETRY,
    }
    return "connections:\n  fluent: " + json.dumps(block) + "\n"


def rejects(report: Any) -> list[dict[str, Any]]:
    if not report.rejects_path:
        return []
    lines = Path(report.rejects_path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def posts(emu: Emulator, path_regex: str) -> list[dict[str, Any]]:
    return [r for r in emu.requests(path_regex=path_regex) if r["method"] == "POST"]
