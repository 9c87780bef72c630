"""Files on an SFTP server: a directory and a pattern, processed in a stable order.

```yaml
connections:
  partner: {type: sftp, host: sftp.partner.example, username: retail,
            password: "${env:PARTNER_PASSWORD}", host_key: "SHA256:uGEi9eJqKfXJ0xkQf6bO0n2Dk0pU2F6o8bqv1m3XyZ8"}
source:
  type: sftp
  connection: partner
  path: /outbound/inventory
  pattern: "stock_*.csv"
  on_success: {move_to: "processed/{date:%Y/%m/%d}/{name}"}
  on_failure: {move_to: "errors/{name}"}
```

The directory is listed completely before the first file is read, so a file
that arrives during the run waits for the next one. Files still being
written are left alone with ``min_age`` (by modification time) or
``size_stable_for`` (the size must not change for that long). Moves are
relative to ``path`` (or absolute), never overwrite (a suffix keeps both),
and names the server returns cannot reach outside the listed directories.
"""

from __future__ import annotations

import dataclasses
import posixpath
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from typing_extensions import override

from engine.connections import sftp_io
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
from engine.units import duration

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "sftp", "description": "an sftp connection"},
        "path": {"type": "string", "default": ".", "description": "remote directory (relative to the login)"},
        "pattern": PATTERN,
        "recursive": {"type": "boolean", "default": False},
        "sort": SORT,
        "max_files": MAX_FILES,
        "min_age": MIN_AGE,
        "size_stable_for": duration("list twice this far apart; files whose size changed are left"),
        "on_success": MOVE,
        "on_failure": MOVE,
    },
}


@dataclasses.dataclass
class SftpSourceOptions:
    """The validated ``sftp`` source block; ``connection`` names an ``sftp`` connection."""

    connection: str
    path: str
    pattern: str
    recursive: bool
    sort: str
    max_files: int | None
    min_age: float | None
    size_stable_for: float | None
    on_success: dict | None
    on_failure: dict | None


class SftpSource(Source):
    """Lists matching files under a remote directory of a borrowed SFTP connection, reads and moves them.

    Links are followed only to regular files inside the directory; with
    ``size_stable_for`` files still growing are left for the next run.
    """

    name = "sftp"
    summary = "files on an SFTP server"
    schema = SCHEMA
    Options = SftpSourceOptions

    def __init__(self, options: SftpSourceOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.connection_name = options.connection
        self.matches = compile_pattern(options.pattern)
        self.min_age: float | None = options.min_age
        self.stable_for: float | None = options.size_stable_for
        self.templates, self._problems = move_templates(
            options.on_success, options.on_failure, absolute_ok=True
        )
        self.skip_dirs = [d for d in (static_dir(t) for t in self.templates.values()) if d and d[0] != "/"]

    def problems(self) -> list[tuple[tuple, str]]:
        """Mistakes in ``on_success``/``on_failure``, each at its spec path (``..`` never climbs out)."""
        return self._problems + pattern_problems(self.options.pattern)

    @override
    def open(self, run: RunContext) -> None:
        self.conn = run.connection(self.options.connection)
        self.log = run.log
        where = str(reveal(self.options.path))  # may be a ${env:...} reference

        def resolve(client: Any) -> str:
            root = client.normalize(where)
            if not sftp_io.is_dir(client, root):
                raise SourceError(f"{self.conn.label}: {root} is not a directory")
            return root

        self.root = self.conn.call("open directory", where, resolve, phase="source")

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
        if self.stable_for and chosen:
            chosen = self._stable(chosen, run)
        for entry in chosen:
            full = posixpath.join(self.root, entry.rel)
            yield Item(
                uri=self.conn.uri(full),
                name=entry.name,
                size=entry.size,
                mtime=entry.mtime,
                meta={"path": full, "relpath": entry.rel},
            )

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The directory can be listed (nothing is read or moved)."""
        self.open(run)
        found = len(self._list())
        where = self.conn.uri(self.root)
        return [Check(self.path, f"listed {where}: {found} file(s) match {self.options.pattern!r} now")]

    def _list(self) -> list[Entry]:
        return self.conn.call("list", self.root, self._walk, phase="source")

    def _walk(self, client: Any) -> list[Entry]:
        out: list[Entry] = []
        pending = [""]
        while pending:
            rel_dir = pending.pop()
            for attr in client.listdir_attr(posixpath.join(self.root, rel_dir) if rel_dir else self.root):
                name = attr.filename
                if not safe_name(name):
                    self.log.warning(
                        "unsafe name from the server skipped", name=repr(name), directory=rel_dir
                    )
                    continue
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if name.startswith("."):
                    continue
                mode = attr.st_mode or 0
                if stat.S_ISLNK(mode):
                    linked = self._inside_link(client, rel)
                    if linked is None:
                        continue
                    attr, mode = linked, linked.st_mode or 0
                if stat.S_ISDIR(mode):
                    if self.options.recursive and not any((rel + "/").startswith(d) for d in self.skip_dirs):
                        pending.append(rel)
                    continue
                if not stat.S_ISREG(mode) or not self.matches(name):
                    continue
                if any(rel.startswith(d) for d in self.skip_dirs):
                    continue
                mtime = datetime.fromtimestamp(attr.st_mtime, UTC) if attr.st_mtime is not None else None
                out.append(Entry(rel, name, attr.st_size, mtime))
        return out

    def _inside_link(self, client: Any, rel: str) -> Any:
        """The target's attributes of a link to a regular file inside the directory, else None.

        Links to directories are never followed (loops), nor links leading
        outside ``path``: the directory is what the spec allows to be read.
        """
        try:
            real = client.normalize(posixpath.join(self.root, rel))
            attr = client.stat(real)
        except OSError:
            return None
        if not real.startswith(self.root.rstrip("/") + "/") or not stat.S_ISREG(attr.st_mode or 0):
            self.log.warning("link skipped: it leads outside the directory or not to a file", file=rel)
            return None
        return attr

    def _stable(self, chosen: list[Entry], run: RunContext) -> list[Entry]:
        time.sleep(self.stable_for or 0)
        again = {e.rel: e for e in self._list()}
        kept = []
        for entry in chosen:
            now = again.get(entry.rel)
            if now is None or (now.size, now.mtime) != (entry.size, entry.mtime):
                run.log.info("file still changing, left for the next run", file=entry.rel)
                continue
            kept.append(entry)
        return kept

    # -- reading ------------------------------------------------------------------------------

    @override
    def read(self, item: Item) -> IO[bytes]:
        path = item.meta["path"]
        size = item.size or 0
        conn = self.conn

        def open_at(offset: int) -> Any:
            handle = conn.client().open(path, "rb")
            if offset:
                now = handle.stat()
                if now.st_size != item.size or (
                    item.mtime and int(now.st_mtime or 0) != int(item.mtime.timestamp())
                ):
                    handle.close()
                    raise SourceError(
                        f"{conn.label}: {item.uri} changed while it was being read",
                        hint="it is read again on the next run",
                    )
            return sftp_io.WindowedReader(handle, offset, size)

        def give_up(exc: BaseException, offset: int) -> EngineError:
            error = conn.error(exc, "read", item.uri, phase="source")
            error.details["bytes_read"] = offset
            return error

        reader = ResumableReader(
            open_at,
            size=item.size,
            policy=conn.policy,
            is_drop=conn.dropped,
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
        src = item.meta["path"]
        if action.get("delete"):
            self.conn.call("delete", item.uri, lambda c: c.remove(src), phase="source")
            return "deleted"
        template = self.templates.get(key)
        if template is None:
            return None
        rel = render_move(template, item.name, run, absolute_ok=True)
        target = rel if rel.startswith("/") else posixpath.join(self.root, rel)
        chosen: list[str] = []

        def move(client: Any) -> str:
            if chosen and not sftp_io.exists(client, src) and sftp_io.exists(client, chosen[-1]):
                return chosen[-1]  # the rename went through; only its answer was lost
            sftp_io.makedirs(client, posixpath.dirname(target))
            dest = free_name(target, run.run_id, lambda p: sftp_io.exists(client, p))
            chosen.append(dest)
            client.posix_rename(src, dest)
            return dest

        dest = self.conn.call("move", f"{item.uri} to {target}", move, phase="source")
        return self.conn.uri(dest)
