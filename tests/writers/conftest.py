from __future__ import annotations

import io
from typing import Any

import pytest

from engine.registry import default_registries
from engine.spec.options import build_options


def make_writer(kind: str, **options: Any):
    cls = default_registries().writers.get(kind)
    return cls(
        build_options(cls.Options, cls.schema, options, ("target", "writer"), None), path="target.writer"
    )


@pytest.fixture
def write():
    """``write(kind, *batches, **options) -> (bytes, problems, writer)``: one file, batches in order."""

    def run(kind: str, *batches: list, **options: Any):
        writer = make_writer(kind, **options)
        sink = io.BytesIO()
        writer.begin(sink, {"connector": "c", "run_id": "r", "part": 1, "fields": None})
        problems: list[tuple[int, int, str]] = []
        for b, batch in enumerate(batches):
            for i, reason in writer.write(batch) or []:
                problems.append((b, i, reason))
        writer.end()
        return sink.getvalue(), problems, writer

    return run
