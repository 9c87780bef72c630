"""Values this connector stored in its own state store, read back per record.

```yaml
lookups:
  last_sent:
    type: state
    namespace: channel-sync             # what state.changed_only writes, or another namespace
    key: {sku: skuRef, location: locationRef}
```

``$lookup.last_sent.qty`` reads the ``qty`` the connector last delivered for
the record's key when ``state.changed_only`` keeps that namespace (it stores
the compared fields of every acknowledged record). Keys are matched part by
part as text, in the order of ``key``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import override

from engine.contracts import Lookup, RunContext, StateStore, stored_key
from engine.errors import ConfigError
from engine.lookups.base import CommonOptions, FixtureLookup, LookupBase, fixture_answers, schema

SCHEMA: dict[str, Any] = schema(
    {
        "namespace": {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
            "description": "the namespace of stored values (state.changed_only's, by default the connector's name)",
        },
    },
    [],
)


@dataclasses.dataclass
class StateLookupOptions(CommonOptions):
    """The validated ``state`` lookup block."""

    namespace: str | None


class StateLookup(LookupBase):
    """Reads stored values of the connector's state store by key."""

    name = "state"
    summary = "values this connector stored in its state store (e.g. what it last delivered)"
    schema = SCHEMA
    Options = StateLookupOptions

    def __init__(self, options: StateLookupOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.store: StateStore | None = None
        self.connector = ""
        self.namespace = options.namespace or ""

    @override
    def open(self, run: RunContext) -> None:
        self.store = run.state
        self.connector = run.connector
        self.namespace = self.options.namespace or run.connector

    @override
    def fetch(self, keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], Any]:
        assert self.store is not None, "the lookup is used before the run opened it"
        wanted = {stored_key(k): k for k in keys}
        found = self.store.values_get(self.connector, self.namespace, list(wanted))
        return {wanted[text]: value for text, value in found.items()}

    @override
    def with_fixture(self, fixture: Mapping[str, Any]) -> Lookup:
        """``rows``: stored values, each row holding the key's parts (by part name) and the stored fields."""
        if "rows" not in fixture:
            return super().with_fixture(fixture)
        if set(fixture) != {"rows"}:
            raise ConfigError(f"{self.path}: give rows or answers in a test case, not both")
        entries = []
        for n, row in enumerate(fixture["rows"]):
            if not isinstance(row, dict):
                raise ConfigError(f"{self.path}.rows[{n}]: expected an object, got {row!r}")
            entries.append(
                {
                    "key": {p: row.get(p) for p in self.parts},
                    "answer": {k: v for k, v in row.items() if k not in self.parts},
                }
            )
        return FixtureLookup(self, fixture_answers(entries, self.parts, self.path))
