r"""Text resolvers: case, trimming, replacing, extracting, cutting and padding.

Numbers and booleans from JSON or Parquet sources are turned into text the
way JSON writes them (``5``, ``1.5``, ``true``), so ``pad`` can zero-fill a
numeric store code; objects and lists are refused rather than written as
Python reprs.

Example::

    fields:
      sku:      {source: SKU, resolver: [trim, upper]}
      store:    {source: store_no, resolver: {name: pad, args: {width: 5, char: "0"}}}
      batch:    {source: lot, resolver: {name: regex_extract, args: {pattern: "LOT-(\\d+)"}}}
"""

from __future__ import annotations

import re
from typing import Any

from engine.contracts import Resolver, ResolverFunction
from engine.errors import DataError
from engine.mapping.resolvers._common import ValueFunction, as_text, bad_args, show, text_resolver


def make_upper() -> ResolverFunction:
    """Build ``upper``: upper-cased text (numbers and booleans as JSON writes them)."""
    return text_resolver(str.upper)


def make_lower() -> ResolverFunction:
    """Build ``lower``: lower-cased text (numbers and booleans as JSON writes them)."""
    return text_resolver(str.lower)


def make_trim(*, chars: str | None = None) -> ResolverFunction:
    """Build ``trim``: text stripped of whitespace, or of any of ``chars``, at both ends."""
    if chars is None:
        return text_resolver(str.strip)
    return text_resolver(lambda text: text.strip(chars))


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise bad_args(f"invalid regular expression {pattern!r}: {exc}") from None


def make_replace(
    *, old: str | None = None, pattern: str | None = None, new: str = "", count: int = 0
) -> ResolverFunction:
    """Build ``replace``: ``old`` (plain text) or ``pattern`` (a regex) replaced by ``new``, at most ``count`` times (0: all).

    Raises:
        ConfigError: both or neither of ``old`` and ``pattern`` given, or a bad pattern or replacement.
    """
    if (old is None) == (pattern is None):
        raise bad_args("replace needs exactly one of 'old' (plain text) or 'pattern' (a regular expression)")
    if pattern is None:
        plain, limit = old or "", count or -1
        return text_resolver(lambda text: text.replace(plain, new, limit))
    regex = _compile(pattern)
    try:
        regex.sub(new, "")
    except (re.error, IndexError) as exc:
        raise bad_args(f"invalid replacement {new!r} for pattern {pattern!r}: {exc}") from None
    sub = regex.sub
    return text_resolver(lambda text: sub(new, text, count))


def make_regex_extract(*, pattern: str, group: int | str = 1, on_no_match: str = "missing") -> ValueFunction:
    """Build ``regex_extract``: ``group`` of the first match of ``pattern``.

    No match gives None, or a :class:`DataError` with ``on_no_match: error``.
    A bad pattern or a group it lacks is a :class:`ConfigError` now.
    """
    regex = _compile(pattern)
    if isinstance(group, int) and group > regex.groups:
        raise bad_args(
            f"pattern {pattern!r} has {regex.groups} group(s), so group {group} does not exist"
            + (" (use group: 0 for the whole match)" if regex.groups == 0 else "")
        )
    if isinstance(group, str) and group not in regex.groupindex:
        raise bad_args(f"pattern {pattern!r} has no group named {group!r}")
    search = regex.search
    error = on_no_match == "error"

    def fn(value: Any) -> str | None:
        text = value if type(value) is str else as_text(value)
        m = search(text)
        if m is None:
            if error:
                raise DataError(f"{show(text)} does not match {pattern!r}")
            return None
        return m.group(group)

    return fn


def make_substring(*, start: int = 0, end: int | None = None) -> ResolverFunction:
    """Build ``substring``: ``text[start:end]``, Python slicing (negative counts from the end)."""
    return text_resolver(lambda text: text[start:end])


def make_pad(*, width: int, char: str = " ", side: str = "left") -> ResolverFunction:
    """Build ``pad``: text padded with ``char`` on ``side`` to ``width``; longer text is kept whole."""
    if side == "left":
        return text_resolver(lambda text: text.rjust(width, char))
    return text_resolver(lambda text: text.ljust(width, char))


_REGEX = {"type": "string", "minLength": 1, "description": "a Python regular expression"}

RESOLVERS = [
    Resolver("upper", make_upper, summary="Upper-case text.", returns="string"),
    Resolver("lower", make_lower, summary="Lower-case text.", returns="string"),
    Resolver(
        "trim",
        make_trim,
        returns="string",
        shorthand="chars",
        summary="Strip whitespace (or the given characters) at both ends.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "chars": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "default": None,
                    "description": "characters to strip; null means whitespace",
                },
            },
        },
    ),
    Resolver(
        "replace",
        make_replace,
        returns="string",
        summary="Replace plain text (old) or a regular expression (pattern).",
        args={
            "type": "object",
            "additionalProperties": False,
            "oneOf": [{"required": ["old"]}, {"required": ["pattern"]}],
            "properties": {
                "old": {"type": "string", "minLength": 1},
                "pattern": _REGEX,
                "new": {
                    "type": "string",
                    "default": "",
                    "description": "replacement; with pattern, \\1 or \\g<name> insert groups",
                },
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 0,
                    "description": "at most this many replacements; 0 means all",
                },
            },
        },
    ),
    Resolver(
        "regex_extract",
        make_regex_extract,
        returns="string",
        shorthand="pattern",
        summary="The first match of a regular expression (a group of it).",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["pattern"],
            "properties": {
                "pattern": _REGEX,
                "group": {
                    "type": ["integer", "string"],
                    "minimum": 0,
                    "default": 1,
                    "description": "group number or name; 0 is the whole match",
                },
                "on_no_match": {"enum": ["missing", "error"], "default": "missing"},
            },
        },
    ),
    Resolver(
        "substring",
        make_substring,
        returns="string",
        summary="Characters from start up to (not including) end.",
        args={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "start": {"type": "integer", "default": 0, "description": "negative counts from the end"},
                "end": {"type": ["integer", "null"], "default": None, "description": "null means the end"},
            },
        },
    ),
    Resolver(
        "pad",
        make_pad,
        returns="string",
        shorthand="width",
        summary="Pad text to a width (longer text is kept whole).",
        args={
            "type": "object",
            "additionalProperties": False,
            "required": ["width"],
            "properties": {
                "width": {"type": "integer", "minimum": 0, "maximum": 10000},
                "char": {"type": "string", "minLength": 1, "maxLength": 1, "default": " "},
                "side": {"enum": ["left", "right"], "default": "left"},
            },
        },
    ),
]
