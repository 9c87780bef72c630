"""What every lookup has: its key, its policies and its cache size.

```yaml
lookups:
  position:
    type: fluent.graphql
    key: {sku: sku, location: location_code}   # the key's parts and the record paths they come from
    on_missing: reject                         # reject | null | skip
    on_error: fail                             # fail | reject
```

The key's parts are read from each record as it comes from the parser
(before mapping), as text; a record whose key has an empty part has no
answer (its ``on_missing`` applies). ``key: sku`` is the one-part key
``{key: sku}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import override

from engine.contracts import Lookup
from engine.errors import ConfigError
from engine.mapping.paths import PathSyntaxError, parse_path

#: options every lookup takes (merged into each lookup plugin's schema)
COMMON: dict[str, Any] = {
    "key": {
        "description": "the key: a record path, or {part: path} for a key of several parts",
        "oneOf": [
            {"type": "string", "minLength": 1, "description": "a record path"},
            {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string", "minLength": 1},
                "description": "key part -> record path",
            },
        ],
    },
    "on_missing": {
        "enum": ["reject", "null", "skip"],
        "default": "reject",
        "description": "a key with no answer: reject the record (default), read null, or skip the record",
        "x-error": 'expected reject, "null" or skip, got {value!r} (in YAML, write "null" in quotes)',
    },
    "on_error": {
        "enum": ["fail", "reject"],
        "default": "fail",
        "description": "a lookup that fails after its connection's retries: fail the file (retried by a "
        "later run, nothing lost), or reject the records that needed it",
    },
    "cache_size": {
        "type": "integer",
        "minimum": 0,
        "default": 100000,
        "description": "answers kept for the run (least recently used go first); 0 keeps none",
    },
    "batch_size": {
        "type": "integer",
        "minimum": 1,
        "maximum": 10000,
        "default": 500,
        "description": "keys asked for at once",
    },
}


@dataclasses.dataclass
class CommonOptions:
    """The options of :data:`COMMON`, as every lookup's options dataclass starts."""

    key: str | dict[str, str]
    on_missing: str
    on_error: str
    cache_size: int
    batch_size: int


def key_parts(key: str | dict[str, str]) -> dict[str, str]:
    """``{part: record path}`` of a ``key`` option (a lone path is the part ``key``)."""
    return {"key": key} if isinstance(key, str) else dict(key)


def schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A lookup plugin's schema: its own properties and the common ones."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["key", *required],
        "properties": {**COMMON, **properties},
    }


class LookupBase(Lookup):
    """A lookup with the common options read: :attr:`parts` (key part -> record path) and the policies."""

    def __init__(self, options: Any, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.parts = key_parts(options.key)
        self.on_missing = options.on_missing
        self.on_error = options.on_error
        self.cache_size = options.cache_size
        self.batch_size = options.batch_size
        self._problems: list[tuple[tuple[str | int, ...], str]] = []
        for part, text in self.parts.items():
            try:
                parse_path(text)
            except PathSyntaxError as exc:
                where = ("key",) if isinstance(options.key, str) else ("key", part)
                self._problems.append((where, exc.message))

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Key paths that do not parse, each at its option."""
        return self._problems

    @override
    def with_fixture(self, fixture: Mapping[str, Any]) -> Lookup:
        """Answers per key (``answers: [{key: ..., answer: ...}]``); kinds add their recorded forms."""
        if set(fixture) - {"answers"}:
            raise ConfigError(
                f"{self.path}: a {self.name} lookup answers a test from answers: [{{key, answer}}], "
                f"not {', '.join(sorted(set(fixture) - {'answers'}))}"
            )
        return FixtureLookup(self, fixture_answers(fixture.get("answers") or [], self.parts, self.path))


class FixtureLookup(Lookup):
    """A lookup's stand-in in ``engine test``: its key and policies, the case's answers."""

    name = "fixture"

    def __init__(self, real: LookupBase, answers: dict[tuple[str, ...], Any]) -> None:
        super().__init__(real.options, path=real.path)
        self.parts = real.parts
        self.on_missing = real.on_missing
        self.on_error = real.on_error
        self.cache_size = real.cache_size
        self.batch_size = real.batch_size
        self.answers = answers

    @override
    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        return {k: self.answers[k] for k in keys if k in self.answers}


def fixture_answers(entries: list[Any], parts: dict[str, str], where: str) -> dict[tuple[str, ...], Any]:
    """``{key: answer}`` of a case's ``answers``; each key is ``{part: value}`` (or the value of a one-part key)."""
    out: dict[tuple[str, ...], Any] = {}
    for n, entry in enumerate(entries):
        at = f"{where}.answers[{n}]"
        if not isinstance(entry, dict) or "key" not in entry or "answer" not in entry:
            raise ConfigError(f"{at}: expected {{key: ..., answer: ...}}, got {entry!r}")
        key = entry["key"]
        if not isinstance(key, dict):
            if len(parts) != 1:
                raise ConfigError(f"{at}.key: give every part of the key: {{{', '.join(parts)}}}")
            key = {next(iter(parts)): key}
        if set(key) != set(parts):
            raise ConfigError(
                f"{at}.key: expected the parts {', '.join(parts)}, got {', '.join(map(str, key))}"
            )
        found = tuple(_text(key[p]) for p in parts)
        if found in out:
            raise ConfigError(f"{at}.key: {key} is answered twice")
        out[found] = entry["answer"]
    return out


def _text(value: Any) -> str:
    """A key part as text, as the runtime reads it from a record."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def match_parts(match: str | dict[str, str] | None, parts: dict[str, str]) -> dict[str, str]:
    """``{part: answer path}``: where each key part is found in an answer (default: the part's own name)."""
    if match is None:
        return {part: part for part in parts}
    if isinstance(match, str):
        return {next(iter(parts)): match}
    return dict(match)


MATCH: dict[str, Any] = {
    "description": "where each key part is in an answer: a path (one-part key) or {part: path}",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string", "minLength": 1}},
    ],
}
