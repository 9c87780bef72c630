"""The request log: every API request and outbound webhook delivery, for test assertions.

Entries keep the raw body bytes (no copy, no decoding) so logging costs nothing on the batch hot
path; they are decoded only when someone reads the log. The log is bounded by
``request_log_limit``, oldest entries dropped first.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any


class RequestLog:
    """The last ``limit`` entries, each numbered by a sequence that is never reset by clearing."""

    def __init__(self, limit: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=max(1, limit))
        self.sequence = 0

    def resize(self, limit: int) -> None:
        """Keep at most ``limit`` entries from now on (the oldest go first if there are more)."""
        self.entries = deque(self.entries, maxlen=max(1, limit))

    def record(self, **fields: Any) -> dict[str, Any]:
        """Append an entry (an incoming request unless ``direction`` says otherwise) and return it.

        The caller fills in the status, latency and response body on the
        returned dict once the answer is known.
        """
        self.sequence += 1
        entry = {
            "seq": self.sequence,
            "direction": "in",
            "status": None,
            "latency_ms": None,
            "faults": [],
            **fields,
        }
        self.entries.append(entry)
        return entry

    def clear(self) -> None:
        """Drop every entry; sequence numbers keep counting up."""
        self.entries.clear()

    def query(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Entries as JSON-ready dicts, filtered by method, path, path_regex, direction, since."""
        regex = re.compile(params["path_regex"]) if params.get("path_regex") else None
        since = int(params.get("since", 0) or 0)
        with_body = params.get("body", "1") not in ("0", "false")
        out = []
        for entry in self.entries:
            if entry["seq"] <= since:
                continue
            if params.get("method") and entry["method"] != params["method"].upper():
                continue
            if params.get("path") and entry["path"] != params["path"]:
                continue
            if params.get("direction") and entry["direction"] != params["direction"]:
                continue
            if regex and not regex.search(entry["path"]):
                continue
            out.append(render(entry, with_body))
        limit = int(params.get("limit", 0) or 0)
        return out[-limit:] if limit else out


def render(entry: dict[str, Any], with_body: bool = True) -> dict[str, Any]:
    """An entry as JSON-ready data: bodies as text, and the request body parsed as ``json`` too."""
    view = {k: v for k, v in entry.items() if k not in ("body", "response_body")}
    if with_body:
        view["body"] = _text(entry.get("body"))
        view["json"] = _json(view["body"])
        view["response_body"] = _text(entry.get("response_body"))
    return view


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", "replace")


def _json(text: str | None) -> Any:
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
