"""The target of a dry run: mapped records printed as JSON Lines, nothing sent.

``engine run --dry-run`` reads and maps like a real run; this target stands
in for the spec's own, so the loop has no dry-run branches. The spec's
target is never opened.
"""

from __future__ import annotations

from typing import IO

from typing_extensions import override

from engine.contracts import Batch, Target
from engine.jsonutil import dumps_safe
from engine.secrets import redactor


class DryRunTarget(Target):
    """Prints every mapped record as one JSON line on ``out`` (nothing counts as written)."""

    name = "dry-run"
    summary = "mapped records printed, nothing sent (engine run --dry-run)"

    def __init__(self, out: IO[str], route: str | None = None) -> None:
        super().__init__(None, path="--dry-run")
        self.out = out
        #: with routes, each line says which route the record took: ``{"route": ..., "record": ...}``
        self.route = route

    @override
    def write(self, batch: Batch) -> None:
        records = (
            batch.records
            if self.route is None
            else [{"route": self.route, "record": r} for r in batch.records]
        )
        text = "".join(dumps_safe(redactor.scrub_obj(r)) + "\n" for r in records)
        self.out.write(redactor.scrub(text))
        self.out.flush()
