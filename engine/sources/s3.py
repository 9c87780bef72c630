"""Objects in an S3 bucket: a prefix and a pattern, processed in a stable order.

```yaml
connections:
  wms: {type: s3, bucket: wms-out, region: eu-west-1}
source:
  type: s3
  connection: wms
  prefix: inventory/incoming/
  pattern: "inventory_*.csv"
  on_success: {move_to: "inventory/processed/{date:%Y/%m/%d}/{name}"}
  on_failure: {move_to: "inventory/errors/{name}"}
```

The listing is complete (every page, not the first 1,000 keys) and taken
before the first object is read, so an object that arrives during the run
waits for the next one. Reads stream the object's body in blocks and resume
with a range request when the connection drops; they also insist on the
etag that was listed, so an object replaced mid-run is not half old, half
new. ``move_to`` is a key from the bucket's root; moves copy (in parts for
large objects), then delete, and never overwrite an existing key. A large
object can be read in parts by several workers, each with ranged GETs
(``executor: {split_size: ...}``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from typing_extensions import override

from engine.connections.s3_errors import error_code, is_drop
from engine.contracts import Check, Item, RunContext, Source
from engine.errors import EngineError, SourceError
from engine.retry import ResumableReader, buffered
from engine.secrets import reveal
from engine.sources._files import (
    MAX_FILES,
    MIN_AGE,
    MOVE,
    PATTERN,
    SORT,
    Entry,
    compile_pattern,
    move_templates,
    pattern_problems,
    render_move,
    safe_name,
    select,
    static_dir,
)
from engine.templates import free_name

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "s3", "description": "an s3 connection"},
        "prefix": {"type": "string", "default": "", "description": "key prefix, e.g. inventory/incoming/"},
        "pattern": PATTERN,
        "recursive": {
            "type": "boolean",
            "default": False,
            "description": "also list keys in 'subfolders' below the prefix",
        },
        "sort": SORT,
        "max_files": MAX_FILES,
        "min_age": MIN_AGE,
        "on_success": {**MOVE, "description": "move_to is a key template from the bucket's root"},
        "on_failure": {**MOVE, "description": "move_to is a key template from the bucket's root"},
    },
}


@dataclasses.dataclass
class S3SourceOptions:
    """The validated ``s3`` source block; ``connection`` names an ``s3`` connection."""

    connection: str
    prefix: str
    pattern: str
    recursive: bool
    sort: str
    max_files: int | None
    min_age: float | None
    on_success: dict | None
    on_failure: dict | None


class S3Source(Source):
    """Lists matching objects under a prefix of a borrowed S3 connection, reads and moves them.

    Items carry the listed etag; reads and moves insist on it, so an object
    replaced during the run fails instead of mixing versions.
    """

    name = "s3"
    summary = "objects in an S3 bucket"
    schema = SCHEMA
    Options = S3SourceOptions
    reads_ranges = True

    def __init__(self, options: S3SourceOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.connection_name = options.connection
        self.matches = compile_pattern(options.pattern)
        self.min_age: float | None = options.min_age
        self.templates, self._problems = move_templates(options.on_success, options.on_failure)
        self.skip = [d for d in (static_dir(t) for t in self.templates.values()) if d]
        self.prefix = self.base = ""  # set by open(): the prefix may be a ${env:...} reference
        self._transfers: Any = None

    def problems(self) -> list[tuple[tuple, str]]:
        """Mistakes in ``on_success``/``on_failure``, each at its spec path (``move_to`` keys stay in the bucket)."""
        return self._problems + pattern_problems(self.options.pattern)

    @override
    def open(self, run: RunContext) -> None:
        self.conn = run.connection(self.options.connection)
        self.log = run.log
        self.prefix = prefix = str(reveal(self.options.prefix)).lstrip("/")
        self.base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""

    # -- listing ------------------------------------------------------------------------------

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        entries = self._list()
        chosen = select(
            entries,
            sort=self.options.sort,
            max_files=self.options.max_files,
            min_age=self.min_age,
            now=datetime.now(UTC),
            log=run.log,
        )
        bucket = self.conn.bucket
        for entry in chosen:
            obj = entry.extra
            yield Item(
                uri=f"s3://{bucket}/{obj['Key']}",
                name=entry.name,
                size=entry.size,
                mtime=entry.mtime,
                etag=obj["ETag"].strip('"'),
                meta={"key": obj["Key"], "etag": obj["ETag"]},
            )

    @override
    def check(self, run: RunContext) -> list[Check]:
        """One listing request under the prefix (nothing is read or moved)."""
        self.open(run)
        conn = self.conn
        try:
            page = conn.client.list_objects_v2(Bucket=conn.bucket, Prefix=self.prefix, MaxKeys=1000)
        except Exception as exc:  # botocore's, translated with the connection's name
            raise conn.error(exc, "list", conn.where(self.prefix), phase="source") from None
        found = sum(1 for obj in page.get("Contents") or () if self._entry(obj) is not None)
        more = "+" if page.get("IsTruncated") else ""
        return [
            Check(
                self.path,
                f"listed {conn.where(self.prefix)}: {found}{more} file(s) match {self.options.pattern!r} now",
            )
        ]

    def _list(self) -> list[Entry]:
        conn = self.conn
        args: dict[str, Any] = {"Bucket": conn.bucket, "Prefix": self.prefix}
        if not self.options.recursive:
            args["Delimiter"] = "/"
        out: list[Entry] = []
        try:
            for page in conn.client.get_paginator("list_objects_v2").paginate(**args):
                for obj in page.get("Contents") or ():
                    entry = self._entry(obj)
                    if entry is not None:
                        out.append(entry)
        except EngineError:
            raise
        except Exception as exc:  # botocore's, translated with the connection's name
            raise conn.error(exc, "list", conn.where(self.prefix), phase="source") from None
        return out

    def _entry(self, obj: dict[str, Any]) -> Entry | None:
        key = obj["Key"]
        if key.endswith("/") or not key.startswith(self.base):
            return None  # a "folder" placeholder
        rel = key[len(self.base) :]
        parts = rel.split("/")
        if not all(safe_name(p) for p in parts):
            self.log.warning("unsafe key skipped", key=key)
            return None
        name = parts[-1]
        if name.startswith(".") or not self.matches(name) or any(key.startswith(d) for d in self.skip):
            return None
        mtime = obj.get("LastModified")
        if isinstance(mtime, datetime) and mtime.tzinfo is None:
            mtime = mtime.replace(tzinfo=UTC)
        return Entry(key, name, obj.get("Size"), mtime, obj)

    # -- reading ------------------------------------------------------------------------------

    @override
    def read(self, item: Item) -> IO[bytes]:
        conn = self.conn
        key, etag = item.meta["key"], item.meta["etag"]

        start, size = (item.range.start, item.range.end - item.range.start) if item.range else (0, item.size)

        def open_at(offset: int) -> Any:
            args: dict[str, Any] = {"Bucket": conn.bucket, "Key": key, "IfMatch": etag}
            if item.range is not None:
                args["Range"] = f"bytes={start + offset}-{item.range.end - 1}"
            elif offset:
                args["Range"] = f"bytes={offset}-"
            try:
                return conn.client.get_object(**args)["Body"]
            except Exception as exc:
                if error_code(exc) == "PreconditionFailed":
                    raise SourceError(
                        f"{conn.label}: {item.uri} was replaced after it was listed",
                        hint="the new version is read on the next run",
                    ) from None
                raise

        def give_up(exc: BaseException, offset: int) -> EngineError:
            error = conn.error(exc, "read", item.uri, phase="source")
            error.details["bytes_read"] = offset
            return error

        reader = ResumableReader(
            open_at,
            size=size,
            policy=conn.policy,
            is_drop=is_drop,
            give_up=give_up,
            log=self.log,
            name=item.name,
        )
        return buffered(reader)

    # -- lifecycle ----------------------------------------------------------------------------

    @override
    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        key = "on_success" if ok else "on_failure"
        action = getattr(self.options, key) or {}
        if action.get("delete"):
            self._call(
                "delete", item.uri, lambda c: c.delete_object(Bucket=self.conn.bucket, Key=item.meta["key"])
            )
            return "deleted"
        template = self.templates.get(key)
        if template is None:
            return None
        target = render_move(template, item.name, run)
        dest = free_name(target, run.run_id, self._exists)
        self._copy(item, dest)
        self._call(
            "delete", item.uri, lambda c: c.delete_object(Bucket=self.conn.bucket, Key=item.meta["key"])
        )
        return self.conn.where(dest)

    def _copy(self, item: Item, dest: str) -> None:
        conn = self.conn
        if self._transfers is None:
            self._transfers = conn.transfer_manager()
        source = {"Bucket": conn.bucket, "Key": item.meta["key"]}
        try:
            self._transfers.copy(
                source, conn.bucket, dest, extra_args={"CopySourceIfMatch": item.meta["etag"]}
            ).result()
        except Exception as exc:  # translated with the connection's name
            if error_code(exc) in ("PreconditionFailed", "412"):
                raise SourceError(
                    f"{conn.label}: {item.uri} was replaced after it was read; not moved",
                    hint="the new version is read on the next run",
                ) from None
            raise conn.error(exc, "move", f"{item.uri} to {conn.where(dest)}", phase="source") from None

    def _exists(self, key: str) -> bool:
        try:
            self.conn.client.head_object(Bucket=self.conn.bucket, Key=key)
            return True
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self.conn.error(exc, "check", self.conn.where(key), phase="source") from None

    def _call(self, action: str, where: str, fn: Any) -> Any:
        try:
            return fn(self.conn.client)
        except Exception as exc:  # translated with the connection's name
            raise self.conn.error(exc, action, where, phase="source") from None

    @override
    def close(self) -> None:
        transfers, self._transfers = self._transfers, None
        if transfers is not None:
            transfers.shutdown()
        super().close()
