"""What every file source shares: name patterns, listing order, lifecycle moves.

Local, S3 and SFTP sources take the same options (``pattern``, ``sort``,
``max_files``, ``min_age``, ``on_success``/``on_failure``) and must mean the
same thing by them, so the rules live here once. Paths are POSIX strings:
remote stores have no other kind, and local callers convert at the edge.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.errors import ConfigError
from engine.templates import NameTemplate, file_values, leaves_directory, safe_relative
from engine.units import duration

MOVE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "move_to": {"type": "string", "description": "name template relative to the source directory"},
        "delete": {"type": "boolean", "description": "delete the file instead of moving it"},
    },
}

PATTERN: dict[str, Any] = {
    "type": "string",
    "default": "*",
    "description": "glob on file names, or 'regex:...' for a regular expression",
}
SORT: dict[str, Any] = {"enum": ["name", "modified"], "default": "name"}
MAX_FILES: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "description": "process at most this many per run",
}
MIN_AGE: dict[str, Any] = duration("skip files modified more recently than this (still being written)")


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A predicate on file names: a glob (``*`` ``?`` ``[...]``, anchored), or ``regex:...`` (searched)."""
    if pattern.startswith("regex:"):
        try:
            rx = re.compile(pattern[len("regex:") :])
        except re.error as exc:
            raise ConfigError(f"invalid regular expression in pattern: {exc}") from None
        return lambda name: rx.search(name) is not None
    rx = re.compile(fnmatch.translate(pattern))
    return lambda name: rx.match(name) is not None


def pattern_problems(pattern: str) -> list[tuple[tuple, str]]:
    """A glob no listed file can match: it starts with '.', and hidden files are never listed.

    ``.xml`` ported from a configuration that meant an extension is the usual
    case; it would validate, list nothing and exit 0 with "0 seen" otherwise.
    """
    if pattern.startswith("regex:") or not pattern.startswith("."):
        return []
    plain = not any(c in pattern for c in "*?[")
    suggestion = f" (did you mean '*{pattern}'?)" if plain else ""
    return [
        (
            ("pattern",),
            f"{pattern!r} can only match names starting with '.', and such hidden files are never "
            f"listed{suggestion}",
        )
    ]


def move_templates(
    on_success: dict | None, on_failure: dict | None, *, absolute_ok: bool = False, separators: str = "/\\"
) -> tuple[dict[str, NameTemplate], list[tuple[tuple, str]]]:
    """The parsed ``move_to`` templates by key, and every mistake in them at its spec path.

    A template that could lead outside the source's directory (``../x``,
    or an absolute path where ``absolute_ok`` is off) is a mistake here, so
    ``engine validate`` reports it before any run delivers a file it then
    cannot move. Both move and delete is one too.
    """
    templates: dict[str, NameTemplate] = {}
    problems: list[tuple[tuple, str]] = []
    for key, action in (("on_success", on_success), ("on_failure", on_failure)):
        action = action or {}
        if action.get("move_to") and action.get("delete"):
            problems.append(((key,), "choose move_to or delete, not both"))
            continue
        if not action.get("move_to"):
            continue
        try:
            template = NameTemplate(action["move_to"])
        except ConfigError as exc:
            problems.append(((key, "move_to"), str(exc)))
            continue
        why = leaves_directory(template, absolute_ok=absolute_ok, separators=separators)
        if why:
            problems.append(((key, "move_to"), why))
            continue
        templates[key] = template
    return templates, problems


def render_move(
    template: NameTemplate, name: str, run: Any, *, absolute_ok: bool = False, separators: str = "/\\"
) -> str:
    r"""Where a processed file goes: a relative path that cannot climb out of its base.

    ``name`` is the file's own name. With ``absolute_ok`` (remote sources,
    where ``/archive/{name}`` is a deliberate choice) a leading ``/`` is kept;
    ``..`` never survives either way. ``separators`` are what splits a path
    (local sources: the OS's own, so ``\`` in a POSIX name is kept as is).
    """
    values = {**file_values(name), "run_id": run.run_id, "connector": run.connector}
    rendered = template.render(values, run.started)
    if absolute_ok and rendered.startswith("/"):
        return "/" + safe_relative(rendered.lstrip("/"), separators)
    return safe_relative(rendered, separators)


def static_dir(template: NameTemplate) -> str:
    """The fixed directory part of a template (``processed/`` of ``processed/{date}/{name}``)."""
    static = template.text.split("{", 1)[0]
    return static.rsplit("/", 1)[0] + "/" if "/" in static else ""


def safe_name(name: str) -> bool:
    """A directory entry name a server may return and we may join onto a path."""
    return (
        bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\x00" not in name
    )


@dataclasses.dataclass
class Entry:
    """One listed file before it becomes an :class:`~engine.contracts.Item`."""

    rel: str
    name: str
    size: int | None
    mtime: datetime | None
    extra: Any = None


def select(
    entries: list[Entry], *, sort: str, max_files: int | None, min_age: float | None, now: datetime, log: Any
) -> list[Entry]:
    """Drop files too new to trust, order the rest, keep at most ``max_files``."""
    kept = []
    for entry in entries:
        if min_age is not None and entry.mtime is not None and (now - entry.mtime).total_seconds() < min_age:
            log.info("file too new, left for the next run", file=entry.rel, min_age=min_age)
            continue
        kept.append(entry)
    if sort == "modified":
        kept.sort(key=lambda e: (e.mtime.timestamp() if e.mtime else 0.0, e.rel))
    else:
        kept.sort(key=lambda e: e.rel)
    return kept[:max_files] if max_files else kept
