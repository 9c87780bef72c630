from __future__ import annotations

import io
from typing import Any

import pytest

from engine.contracts import Item
from engine.registry import default_registries
from engine.spec.options import build_options


@pytest.fixture
def parse():
    """``parse(type, data_bytes, **options) -> (records, rejects, chunks)`` with records as dicts."""

    def run(kind: str, data: bytes, **options: Any):
        cls = default_registries().parsers.get(kind)
        parser = cls(build_options(cls.Options, cls.schema, options, ("parser",), None), path="parser")
        item = Item(f"file:///t/stock.{kind}", f"stock.{kind}")
        chunks = list(parser.parse(io.BytesIO(data), item, None))
        records, rejects = [], []
        for ch in chunks:
            for i in range(len(ch.records)):
                records.append((ch.positions[i], ch.lines[i] if ch.lines else None, ch.original(i)))
            rejects.extend(ch.rejects or [])
        return records, rejects, chunks

    return run
