"""The mapping field schema published in schemas/ matches the mapping the engine reads.

An independent validator runs over it in tests/test_schemas.py (it is not
installed with the oldest releases that `make test-compat` runs this package on).
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.mapping.model import FIELD_KEYS
from engine.mapping.schema import FIELD_OPTIONS
from engine.registry import default_registries

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "engine.schema.json"


def test_the_schema_offers_exactly_the_field_options_the_engine_reads() -> None:
    assert set(FIELD_OPTIONS) == set(FIELD_KEYS)
    published = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]["mapping.field_definition"]
    assert set(published["properties"]) == set(FIELD_KEYS)


def test_the_schema_names_every_registered_resolver() -> None:
    names = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]["mapping.resolver_name"]["else"]["enum"]
    assert names == default_registries().resolvers.names()
