"""Local directory: files appear complete or not at all (temp name, then rename).

```yaml
target:
  type: file
  writer: csv
  destination: {type: local, path: out/, if_exists: fail}
```
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Destination, RunContext
from engine.errors import TargetError
from engine.templates import safe_relative

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "output directory (relative to the spec)"},
        "if_exists": {
            "enum": ["fail", "overwrite", "suffix"],
            "default": "fail",
            "description": "when a file of that name exists: stop, replace it, or add a suffix",
        },
    },
}


@dataclasses.dataclass
class LocalDestinationOptions:
    """The validated ``local`` destination block."""

    path: str
    if_exists: str


class LocalDestination(Destination):
    """Publishes finished files into a directory, relative paths taken from the spec's directory.

    Files are staged in the output directory itself, so publishing is one
    atomic rename; ``if_exists`` decides what a name clash does.
    """

    name = "local"
    summary = "a local directory"
    schema = SCHEMA
    Options = LocalDestinationOptions

    @override
    def open(self, run: RunContext) -> None:
        raw = Path(os.path.expanduser(self.options.path))
        self.root = raw if raw.is_absolute() else Path(run.spec_dir) / raw

    @override
    def staging_dir(self) -> Path:
        """Temp files are written next to their final place so the rename is atomic."""
        self._mkdir(self.root)
        return self.root

    def _mkdir(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(
                f"{self.path}: cannot create the output directory {directory}: {exc.strerror or exc}"
            ) from None

    @override
    def publish(self, local_path: str, name: str, run: RunContext) -> str:
        dest = self.root / safe_relative(name)
        self._mkdir(dest.parent)
        if dest.exists():
            policy = self.options.if_exists
            if policy == "fail":
                os.unlink(local_path)
                raise TargetError(
                    f"{dest} already exists", hint="set destination.if_exists: overwrite or suffix"
                )
            if policy == "suffix":
                dest = _suffixed(dest)
        try:
            os.replace(local_path, dest)
        except OSError:  # staging on another filesystem: copy next to it, then rename
            tmp = dest.with_name(f".{dest.name}.partial")
            try:
                shutil.copyfile(local_path, tmp)
            except OSError as exc:
                raise TargetError(f"{self.path}: cannot write {tmp}: {exc.strerror or exc}") from None
            os.replace(tmp, dest)
            os.unlink(local_path)
        return str(dest)


def _suffixed(dest: Path) -> Path:
    n = 1
    while True:
        candidate = dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
        if not candidate.exists():
            return candidate
        n += 1
