"""Response helpers shared by the REST, auth and control routes.

The real REST error envelope is unknown, so the emulator uses one documented shape,
``{"errors": [{"code": "<status>", "message": "..."}]}``; clients are expected to treat REST
error bodies as opaque text. JSON is encoded compactly, as Fluent does.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as Fluent sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response with ``application/json`` content type."""
    return Response(dumps(payload), status_code=status, headers=headers, media_type="application/json")


def empty_response(status: int = 200) -> Response:
    """A response with no body and no content type (e.g. an accepted async event)."""
    return Response(b"", status_code=status)


class ApiError(Exception):
    """An HTTP error answer: status plus one or more messages."""

    def __init__(self, status: int, *messages: str, body: Any = None) -> None:
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = list(messages)
        self.body = body

    def response(self) -> Response:
        """The error as a JSON response: ``body`` when given, else the documented ``errors`` envelope."""
        if self.body is not None:
            return json_response(self.body, self.status)
        errors = [{"code": str(self.status), "message": m} for m in self.messages]
        return json_response({"errors": errors}, self.status)


def parse_json(body: bytes) -> Any:
    """Request JSON or the emulator's 400 Malformed JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Malformed JSON") from None


def json_object(body: bytes) -> dict[str, Any]:
    """Request JSON that must be an object; ApiError(400) otherwise."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise ApiError(400, "Malformed JSON: expected an object")
    return data
