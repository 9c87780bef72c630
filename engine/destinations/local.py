"""Local directory: files appear complete or not at all (temp name, then rename).

```yaml
target:
  type: file
  writer: csv
  destination: {type: local, path: out/, if_exists: fail, mode: "0640"}
```

Published files get ``mode`` (octal), or by default what any new file of
this process gets: 0666 minus the umask (0644 with the usual umask 022). The
mode is set on the temporary file before the rename, so the file never
appears with other permissions.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine.contracts import Check, Destination, RunContext
from engine.errors import TargetError
from engine.secrets import reveal
from engine.templates import LOCAL_SEPARATORS, safe_relative

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
        "mode": {
            "type": "string",
            "pattern": "^(umask|0?[0-7]{3})$",
            "default": "umask",
            "description": "permissions of published files, in octal as a string ('0644', '0640'); "
            "umask: 0666 minus the process umask, as for any new file",
            "x-error": "{value!r} is not a mode: write it in octal as a quoted string, e.g. '0640', or umask",
        },
    },
}


@dataclasses.dataclass
class LocalDestinationOptions:
    """The validated ``local`` destination block."""

    path: str
    if_exists: str
    mode: str


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
        raw = Path(os.path.expanduser(str(reveal(self.options.path))))  # ${env:...} resolved at run time
        self.root = raw if raw.is_absolute() else Path(run.spec_dir) / raw
        mode = self.options.mode
        self.file_mode = 0o666 & ~_umask() if mode == "umask" else int(mode, 8)

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The directory (or the nearest one that exists, which a run would create it in) is writable."""
        self.open(run)
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise TargetError(
                f"{self.path}: {existing} is not a writable directory; outputs go to {self.root}",
                hint="give this user write permission there, or change the destination's path",
            )
        made = "" if existing == self.root else f" (a run creates {self.root} in it)"
        return [Check(self.path, f"{existing}: writable{made}")]

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
        dest = self.root / safe_relative(name, LOCAL_SEPARATORS)
        self._mkdir(dest.parent)
        try:
            if dest.exists():
                policy = self.options.if_exists
                if policy == "fail":
                    os.unlink(local_path)
                    raise TargetError(
                        f"{dest} already exists", hint="set destination.if_exists: overwrite or suffix"
                    )
                if policy == "suffix":
                    dest = _suffixed(dest)
            os.chmod(local_path, self.file_mode)
            try:
                os.replace(local_path, dest)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                self._copy_across(local_path, dest)
        except OSError as exc:
            raise TargetError(
                f"{self.path}: cannot publish {dest}: {exc.strerror or exc}",
                hint="check that the output directory exists and that this user may write to it",
            ) from None
        return str(dest)

    def _copy_across(self, local_path: str, dest: Path) -> None:
        """Staging on another filesystem: copy next to the destination, then rename."""
        tmp = dest.with_name(f".{dest.name}.partial")
        shutil.copyfile(local_path, tmp)
        os.chmod(tmp, self.file_mode)
        os.replace(tmp, dest)
        os.unlink(local_path)


def _umask() -> int:
    """The process umask, read without changing it where the system tells (Linux), else set back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _suffixed(dest: Path) -> Path:
    n = 1
    while True:
        candidate = dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
        if not candidate.exists():
            return candidate
        n += 1
