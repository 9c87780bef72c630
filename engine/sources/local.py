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
Moves are relative to the source directory, never overwrite an existing file
(a suffix keeps both), and cannot leave the directory. Files still being
written can be left for the next run with ``min_age``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from typing_extensions import override

from engine.contracts import Item, RunContext, Source
from engine.errors import SourceError
from engine.sources._files import MIN_AGE, MOVE, compile_pattern, free_name, move_templates, render_move

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

    def __init__(self, options: LocalOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.matches = compile_pattern(options.pattern)
        self.min_age: float | None = options.min_age
        self.templates = move_templates(options.on_success, options.on_failure)
        self.base: Path | None = None

    @override
    def open(self, run: RunContext) -> None:
        raw = Path(os.path.expanduser(self.options.path))
        base_dir = Path(run.spec_dir)
        self.root = raw if raw.is_absolute() else base_dir / raw

    def _listing(self) -> tuple[Path, list[Path]]:
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
        self.base = base
        skip_dirs = {self._move_root(k) for k in self.templates}
        now = time.time()
        entries = []
        for p in paths:
            rel = p.relative_to(base).as_posix()
            if p.name.startswith(".") or any(rel.startswith(d + "/") for d in skip_dirs if d):
                continue
            if not self.matches(p.name):
                continue
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            if self.min_age is not None and now - st.st_mtime < self.min_age:
                run.log.info("file too new, left for the next run", file=rel, min_age=self.options.min_age)
                continue
            entries.append((p, rel, st))
        if self.options.sort == "modified":
            entries.sort(key=lambda e: (e[2].st_mtime, e[1]))
        else:
            entries.sort(key=lambda e: e[1])
        if self.options.max_files:
            entries = entries[: self.options.max_files]
        for p, rel, st in entries:
            yield Item(
                uri=p.resolve().as_uri(),
                name=p.name,
                size=st.st_size,
                mtime=datetime.fromtimestamp(st.st_mtime, UTC),
                meta={"path": str(p), "relpath": rel},
            )

    def _move_root(self, key: str) -> str:
        """The fixed top directory moved files go to (skipped when listing recursively)."""
        static = self.templates[key].text.split("{", 1)[0]
        return static.split("/", 1)[0] if "/" in static else ""

    @override
    def read(self, item: Item) -> IO[bytes]:
        try:
            return open(item.meta["path"], "rb")
        except OSError as exc:
            raise SourceError(f"{item.meta['path']}: cannot read: {exc.strerror}") from None

    @override
    def complete(self, item: Item, ok: bool, run: RunContext) -> str | None:
        key = "on_success" if ok else "on_failure"
        action = getattr(self.options, key) or {}
        src = Path(item.meta["path"])
        if action.get("delete"):
            src.unlink(missing_ok=True)
            return "deleted"
        tmpl = self.templates.get(key)
        if tmpl is None:
            return None
        rel = render_move(tmpl, item.name, run)
        dest = (self.base or src.parent) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest = Path(free_name(dest.as_posix(), run.run_id, lambda p: Path(p).exists()))
        try:
            os.replace(src, dest)
        except OSError:  # another filesystem
            shutil.move(str(src), str(dest))
        return str(dest)


def _split_glob(path: Path) -> tuple[Path, str | None]:
    parts = path.parts
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return Path(*parts[:i]), "/".join(parts[i:])
    return path, None
