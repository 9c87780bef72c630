"""Local files: a directory and a pattern, processed in a stable order.

```yaml
source:
  type: local
  path: inbox/
  pattern: "stock_*.csv"
  on_success: {move_to: "processed/{date:%Y/%m/%d}/{name}"}
  on_failure: {move_to: "errors/{name}"}
```

``path`` is a directory (relative to the spec), a single file, or a glob.
Nothing outside that directory is ever read or written: a symbolic link is
read through only when it leads to a file inside the directory; one leading
elsewhere fails as unreadable (moved by ``on_failure``, the link itself, its
target never opened). Moves are relative to the source directory, never
overwrite an existing file (a suffix keeps both), never follow a link on
the way, and cannot leave the directory. Files still being written can be
left for the next run with ``min_age``. A large file can be read in parts by
several workers (``executor: {split_size: ...}``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Check, Item, RunContext, Source
from engine.errors import OutsideSourceError, SourceError
from engine.secrets import reveal
from engine.sources import _inside
from engine.sources._files import (
    MIN_AGE,
    MOVE,
    compile_pattern,
    move_templates,
    pattern_problems,
    render_move,
)
from engine.sources._ranges import window
from engine.templates import LOCAL_SEPARATORS, free_name

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "a directory, a file, or a glob (relative to the spec)"},
        "pattern": {
            "type": "string",
            "default": "*",
            "description": "glob on file names, or 'regex:...' for a regular expression",
        },
        "recursive": {"type": "boolean", "default": False},
        "sort": {"enum": ["name", "modified"], "default": "name"},
        "max_files": {"type": "integer", "minimum": 1},
        "min_age": MIN_AGE,
        "on_success": MOVE,
        "on_failure": MOVE,
    },
}


@dataclasses.dataclass
class LocalOptions:
    """The validated ``local`` source block; ``min_age`` in seconds."""

    path: str
    pattern: str
    recursive: bool
    sort: str
    max_files: int | None
    min_age: float | None
    on_success: dict | None
    on_failure: dict | None


class LocalSource(Source):
    """Lists matching files under a local path, reads them, and moves or deletes them when done.

    Hidden files and the directories processed files are moved to are never
    listed, so a recursive source does not pick its own output up again.
    """

    name = "local"
    summary = "files in a local directory"
    schema = SCHEMA
    Options = LocalOptions
    reads_ranges = True

    def __init__(self, options: LocalOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.matches = compile_pattern(options.pattern)
        self.min_age: float | None = options.min_age
        self.templates, self._problems = move_templates(
            options.on_success, options.on_failure, separators=LOCAL_SEPARATORS
        )

    def problems(self) -> list[tuple[tuple, str]]:
        """Mistakes in ``on_success``/``on_failure``, each at its spec path (moves stay in the directory)."""
        return self._problems + pattern_problems(self.options.pattern)

    @override
    def open(self, run: RunContext) -> None:
        raw = Path(os.path.expanduser(str(reveal(self.options.path))))  # ${env:...} resolved at run time
        base_dir = Path(run.spec_dir)
        self.root = raw if raw.is_absolute() else base_dir / raw

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The directory can be listed (and written, when files are moved after reading)."""
        self.open(run)
        base, paths = self._listing()
        matching = sum(1 for p in paths if self.matches(p.name) and not p.name.startswith("."))
        lines = [Check(self.path, f"{base}: readable; {matching} file(s) match {self.options.pattern!r} now")]
        if self.templates and not os.access(base, os.W_OK | os.X_OK):
            raise SourceError(
                f"{self.path}: {base} is not writable, and on_success/on_failure move files inside it",
                hint="give this user write permission on the directory, or drop the moves",
            )
        if self.templates:
            lines.append(Check(self.path, f"{base}: writable (for on_success/on_failure moves)"))
        return lines

    def _listing(self) -> tuple[Path, list[Path]]:
        try:
            return self._list()
        except OSError as exc:
            raise SourceError(
                f"{self.path}: cannot list {exc.filename or self.root}: {exc.strerror or exc}",
                hint="check that the directory exists and that this user may read it",
            ) from None

    def _list(self) -> tuple[Path, list[Path]]:
        base, glob = _split_glob(self.root)
        if glob is not None:
            if not base.is_dir():
                raise SourceError(f"{self.path}: directory {base} does not exist")
            return base, [p for p in base.glob(glob) if p.is_file()]
        if base.is_file():
            return base.parent, [base]
        if not base.is_dir():
            raise SourceError(f"{self.path}: directory {base} does not exist")
        walker = base.rglob("*") if self.options.recursive else base.iterdir()
        return base, [p for p in walker if p.is_file()]

    @override
    def items(self, run: RunContext) -> Iterator[Item]:
        base, paths = self._listing()
        skip_dirs = {self._move_root(k) for k in self.templates}
        now = time.time()
        entries = []
        for p in paths:
            rel = p.relative_to(base).as_posix()
            if p.name.startswith(".") or any(rel.startswith(d + "/") for d in skip_dirs if d):
                continue
            if not self.matches(p.name):
                continue
            real = _inside.relative_inside(base, p)
            try:
                st = p.stat() if real is not None else p.lstat()  # a link leading outside is not followed
            except FileNotFoundError:
                continue
            if self.min_age is not None and now - st.st_mtime < self.min_age:
                run.log.info("file too new, left for the next run", file=rel, min_age=self.options.min_age)
                continue
            entries.append((p, rel, real, st))
        if self.options.sort == "modified":
            entries.sort(key=lambda e: (e[3].st_mtime, e[1]))
        else:
            entries.sort(key=lambda e: e[1])
        if self.options.max_files:
            entries = entries[: self.options.max_files]
        for p, rel, real, st in entries:
            meta = {"path": str(p), "base": str(base), "relpath": rel, "real": real}
            if real is None:
                meta["outside"] = os.path.realpath(p)
                run.log.warning("link leads outside the source directory; it is not read", file=rel)
            yield Item(
                uri=p.absolute().as_uri() if real is None else p.resolve().as_uri(),
                name=p.name,
                size=st.st_size,
                mtime=datetime.fromtimestamp(st.st_mtime, UTC),
                meta=meta,
            )

    def _move_root(self, key: str) -> str:
        """The fixed top directory moved files go to (skipped when listing recursively)."""
        static = self.templates[key].text.split("{", 1)[0]
        return static.split("/", 1)[0] if "/" in static else ""

    @override
    def read(self, item: Item) -> IO[bytes]:
        meta = item.meta
        if meta.get("real") is None:
            raise OutsideSourceError(
                f"{meta['relpath']}: a symbolic link to {meta.get('outside', '?')}, outside the source "
                f"directory {meta['base']}: not read",
                hint="a local source reads only files inside its directory: copy the file in instead",
            )
        try:
            stream = _inside.open_file(meta["base"], meta["real"])
            if item.range is not None:
                return window(stream, item.range.start, item.range.end)
            return stream
        except OSError as exc:
            if exc.errno in _inside.LINK_ERRNOS:
                raise OutsideSourceError(
                    f"{meta['relpath']}: a symbolic link appeared on its path after the listing: not read"
                ) from None
            raise SourceError(f"{meta['path']}: cannot read: {exc.strerror}") from None

    @override
    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        key = "on_success" if ok else "on_failure"
        action = getattr(self.options, key) or {}
        base, rel = item.meta["base"], item.meta["relpath"]
        if action.get("delete"):
            self._guarded("delete", item, lambda: _inside.delete(base, rel))
            return "deleted"
        tmpl = self.templates.get(key)
        if tmpl is None:
            return None
        dest = render_move(tmpl, item.name, run, separators=LOCAL_SEPARATORS)
        final = self._guarded(
            f"move to {dest}",
            item,
            lambda: _inside.move(base, rel, dest, lambda d, exists: free_name(d, run.run_id, exists)),
        )
        return str(Path(base) / final)

    def _guarded(self, action: str, item: Item, operation: Any) -> Any:
        """Run a file operation; a link on the way or an OS error becomes an engine error naming the file."""
        try:
            return operation()
        except OSError as exc:
            where = item.meta["relpath"]
            if exc.errno in _inside.LINK_ERRNOS:
                raise OutsideSourceError(
                    f"{where}: cannot {action}: a symbolic link (or a file) is in the way; "
                    "moves never follow links out of the source directory",
                    hint="replace the link with a real directory inside the source directory",
                ) from None
            raise SourceError(
                f"{where}: cannot {action}: {exc.strerror or exc}",
                hint="check that the directory exists and that this user may write to it",
            ) from None


def _split_glob(path: Path) -> tuple[Path, str | None]:
    parts = path.parts
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return Path(*parts[:i]), "/".join(parts[i:])
    return path, None
