"""The target of a planned run: the exact requests the spec's target would send, printed, none sent.

``engine run --plan`` reads and maps like a dry run; this target stands in
for the spec's own and asks its :meth:`~engine.contracts.Target.planner`
what each batch of records would become (jobs, batches, aliased GraphQL,
events), grouped as the target groups them. Credentials are redacted.
"""

from __future__ import annotations

import json
from typing import IO

from typing_extensions import override

from engine.contracts import Batch, Item, PlannedRequest, Planner, RunContext, Target
from engine.errors import ConfigError
from engine.jsonutil import dumps_safe, to_jsonable
from engine.secrets import redactor

FORMATS = ("text", "json")


class PlanTarget(Target):
    """Prints the requests the spec's ``target`` would send, on ``out``, as text or JSON Lines."""

    name = "plan"
    summary = "the requests the target would send, printed, nothing sent (engine run --plan)"

    def __init__(self, target: Target, out: IO[str], fmt: str = "text") -> None:
        super().__init__(None, path="--plan")
        self.target = target
        self.out = out
        self.fmt = fmt
        self.requests: Planner | None = None
        self.count = 0

    @override
    def open(self, run: RunContext) -> None:
        self.requests = self.target.planner(run)
        if self.requests is None:
            raise ConfigError(
                f"target '{self.target.name}' cannot say what it would send; use --dry-run to see the records"
            )

    @override
    def write(self, batch: Batch) -> None:
        assert self.requests is not None
        self._print(self.requests.write(batch))

    @override
    def finish_item(self, item: Item) -> None:
        assert self.requests is not None
        self._print(self.requests.finish_item(item))

    @override
    def finish_run(self) -> None:
        if self.requests is not None:
            self._print(self.requests.finish_run())

    def stats(self) -> dict[str, int]:
        """How many requests the plan holds."""
        return {"planned_requests": self.count}

    def _print(self, requests: list[PlannedRequest]) -> None:
        for request in requests:
            self.count += 1
            self.out.write(redactor.scrub(self._render(request)))
        self.out.flush()

    def _render(self, request: PlannedRequest) -> str:
        body = redactor.scrub_obj(to_jsonable(request.body))
        if self.fmt == "json":
            line = {
                "target": self.target.name,
                "group": request.group,
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": body,
            }
            return dumps_safe(line) + "\n"
        head = [f"# {self.target.name}: {request.group}", f"{request.method} {request.path}"]
        head += [f"{k}: {v}" for k, v in request.headers.items()]
        return "\n".join(head) + "\n\n" + json.dumps(body, indent=2, ensure_ascii=False) + "\n\n"
