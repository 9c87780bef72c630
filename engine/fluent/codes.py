r"""Fluent error codes (``C0121E``, ``S0002E`` ...) and what to do about them.

Code format ``^[CST]\d{4}[EW]$``: C client, S server, T third party. Read from
``extensions.code`` or, failing that, the first code in the message. The
table follows the classification the Fluent SDK ships (reference §4.4).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

CODE = re.compile(r"\b([CST]\d{4}[EW])\b")


@dataclasses.dataclass(frozen=True)
class Classification:
    """What a Fluent error means for the caller: retry it (after ``delay`` seconds) or give up.

    ``code`` is None when the error carried no code; ``delay`` is the wait the
    SDK suggests for retryable errors, None otherwise; ``meaning`` is a short
    phrase for messages.
    """

    code: str | None
    retryable: bool
    delay: float | None
    meaning: str


def code_of(error: dict[str, Any]) -> str | None:
    """A GraphQL error's Fluent code: ``extensions.code``, else the first code in its message, else None."""
    ext = error.get("extensions") or {}
    code = ext.get("code") if isinstance(ext, dict) else None
    if isinstance(code, str) and CODE.fullmatch(code):
        return code
    match = CODE.search(str(error.get("message", "")))
    return match.group(1) if match else None


def classify(error: dict[str, Any]) -> Classification:
    """Whether a GraphQL error is worth retrying, from its code or, without one, its message.

    Errors without a code count as retryable only when the message speaks of
    timeouts, connections or server errors; unknown client codes are refusals.
    """
    code = code_of(error)
    if code is None:
        msg = str(error.get("message", "")).lower()
        if any(w in msg for w in ("timeout", "connection", "network", "server error", "internal error")):
            return Classification(None, True, 30.0, "server trouble")
        return Classification(None, False, None, "request refused")
    kind, number = code[0], int(code[1:5])
    if kind == "T":
        return Classification(code, True, 30.0, "third-party failure")
    if kind == "S":
        if number == 40:
            return Classification(code, True, 10.0, "token could not be read")
        if number == 30:
            return Classification(code, False, None, "virtual view setup failed")
        if 1 <= number <= 19 and number != 2:
            return Classification(code, False, None, "platform configuration error")
        return Classification(code, True, 30.0, "server failure")
    if number == 3:
        return Classification(code, True, 60.0, "virtual view still initialising")
    if number == 11:
        return Classification(code, True, 60.0, "rate limit exceeded")
    meanings = {
        1: "query too complex",
        20: "insufficient permissions",
        120: "referenced entity not found",
        121: "ref already exists",
        122: "negative numeric value",
        123: "unique constraint violated",
        128: "several products share the ref",
        140: "missing required variables",
        141: "value too long",
    }
    return Classification(code, False, None, meanings.get(number, "request refused"))
