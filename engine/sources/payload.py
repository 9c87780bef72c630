"""A request body as the one item of a run: webhooks and ad hoc payloads.

```yaml
source: {type: payload}
parser: {type: json}
```

``engine serve`` hands each webhook request's raw body to a fresh run of the
spec; ``engine run SPEC --payload FILE`` does the same with a file, to try a
spec on a captured body. The spec's own parser reads the body like any file,
so a JSON, XML or CSV webhook maps with the same mapping language and its
rejects name ``payload-<id>.json`` and the record. The bytes are never
re-serialised on the way: a signature checked over them stays meaningful.

The item's ``meta`` keeps the request headers useful for mapping and
debugging, without credentials: authorization, cookies, signatures and API
keys are dropped before anything can log or report them.

With ``state: {dedupe: checksum}`` a body identical to one already processed
(a sender's redelivery) is skipped instead of applied twice.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Item, Payload, RunContext, Source, new_payload_id, safe_headers
from engine.errors import SourceError

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {},
}


@dataclasses.dataclass
class PayloadOptions:
    """The ``payload`` source takes no options."""


class PayloadSource(Source):
    """Serves one body handed over with :meth:`deliver` as the single item of a run."""

    name = "payload"
    summary = "one request body handed over by engine serve or engine run --payload"
    schema = SCHEMA
    Options = PayloadOptions
    #: tells engine serve and engine run --payload that this source takes a body
    accepts_payload = True

    def __init__(self, options: PayloadOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.payload: Payload | None = None

    @override
    def deliver(self, payload: Payload) -> None:
        """Set the body the next run reads (before the run starts)."""
        self.payload = payload

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        if self.payload is None:
            raise SourceError(
                f"{self.path or 'source'}: a payload source has no body to read",
                hint="run it with `engine run SPEC --payload FILE`, or serve it with `engine serve`",
            )
        yield self.payload.item()

    @override
    def read(self, item: Item) -> IO[bytes]:
        if self.payload is None or item.uri != f"payload://{self.payload.id}":
            raise SourceError(f"{self.path or 'source'}: unknown payload {item.uri}")
        return io.BytesIO(self.payload.body)

    def stats(self) -> dict[str, Any]:
        """The body's size for the run report; empty before a body was delivered."""
        return {"payload_bytes": len(self.payload.body)} if self.payload is not None else {}


__all__ = ["Payload", "PayloadOptions", "PayloadSource", "new_payload_id", "safe_headers"]
