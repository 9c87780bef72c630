"""A directory on an SFTP server: files appear complete or not at all.

```yaml
connections:
  partner: {type: sftp, host: sftp.partner.example, username: retail,
            password: "${env:PARTNER_PASSWORD}", host_key: "SHA256:uGEi9eJqKfXJ0xkQf6bO0n2Dk0pU2F6o8bqv1m3XyZ8"}
target:
  type: file
  writer: csv
  destination: {type: sftp, connection: partner, path: /inbound/orders, if_exists: suffix}
```

A partner polling the directory must never pick up half a file, so each
file is uploaded under a hidden temporary name in the same directory and
renamed into place when complete. ``if_exists: fail`` and ``suffix`` use the
SFTP rename that refuses to replace an existing file (atomic on OpenSSH), so
two writers cannot overwrite each other; ``overwrite`` uses POSIX rename.
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import posixpath
from typing import Any

from typing_extensions import override

from engine.connections import sftp_io
from engine.contracts import Check, Destination, RunContext
from engine.errors import TargetError
from engine.secrets import reveal
from engine.templates import safe_relative, suffixed_names

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "sftp", "description": "an sftp connection"},
        "path": {"type": "string", "default": ".", "description": "remote directory (relative to the login)"},
        "if_exists": {
            "enum": ["fail", "overwrite", "suffix"],
            "default": "fail",
            "description": "when a file of that name exists: stop, replace it, or add a suffix",
        },
        "create_dirs": {"type": "boolean", "default": True, "description": "create missing directories"},
    },
}


@dataclasses.dataclass
class SftpDestinationOptions:
    """The validated ``sftp`` destination block; ``connection`` names an ``sftp`` connection."""

    connection: str
    path: str
    if_exists: str
    create_dirs: bool


class SftpDestination(Destination):
    """Uploads finished files to a remote directory of a borrowed SFTP connection.

    Each file goes up under a hidden ``.NAME.RUN_ID.partial`` name and is
    renamed into place, so pollers never see half a file; a failed publish
    removes the temporary file when it can.
    """

    name = "sftp"
    summary = "a directory on an SFTP server (temp name, then rename)"
    schema = SCHEMA
    Options = SftpDestinationOptions

    def __init__(self, options: SftpDestinationOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.connection_name = options.connection

    @override
    def open(self, run: RunContext) -> None:
        self.conn = run.connection(self.options.connection)
        where = str(reveal(self.options.path))  # may be a ${env:...} reference

        def resolve(client: Any) -> str:
            start = "" if where.startswith("/") else client.normalize(".")
            return posixpath.normpath(posixpath.join(start, where))

        self.root = self.conn.call("open directory", where, resolve, phase="target")

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The directory exists on the server; whether uploads are allowed shows only at the first one."""
        self.open(run)
        root = self.root

        def probe(client: Any) -> bool | None:
            try:
                return sftp_io.is_dir(client, root)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return None  # a run creates it
                raise

        found = self.conn.call("open directory", root, probe, phase="target")
        where = self.conn.uri(root)
        if found is False:
            raise TargetError(
                f"{self.conn.label}: {root} is not a directory on the server",
                hint="change the destination's path",
            )
        state = "exists" if found else "does not exist yet (a run creates it)"
        return [Check(self.path, f"{where}: {state}; permission to upload is known only at the first upload")]

    @override
    def publish(self, local_path: str, name: str, run: RunContext) -> str:
        conn = self.conn
        final = posixpath.join(self.root, safe_relative(name))
        folder, base = posixpath.split(final)
        temp = posixpath.join(folder, f".{base}.{run.run_id}.partial")

        def upload(client: Any) -> None:
            if self.options.create_dirs:
                sftp_io.makedirs(client, folder)
            client.put(local_path, temp, confirm=True)

        chosen: list[str] = []
        try:
            conn.call("upload", conn.uri(final), upload, phase="target")
            dest = conn.call(
                "publish", conn.uri(final), lambda c: self._place(c, temp, final, chosen), phase="target"
            )
        except BaseException:
            try:
                conn.call("clean up", conn.uri(temp), lambda c: _remove(c, temp), phase="target")
            except Exception as exc:  # the original failure matters more
                run.log.warning("temporary file left behind", file=conn.uri(temp), error=str(exc))
            raise
        return conn.uri(dest)

    def _place(self, client: Any, temp: str, final: str, chosen: list[str]) -> str:
        """Rename ``temp`` into place under the ``if_exists`` policy; returns the final path.

        ``chosen`` remembers the name tried, so a retry after a lost answer
        recognises a rename that did go through.
        """
        policy = self.options.if_exists
        if not sftp_io.exists(client, temp):
            if chosen and sftp_io.exists(client, chosen[-1]):
                return chosen[-1]
            raise TargetError(f"{self.conn.label}: the uploaded file {self.conn.uri(temp)} disappeared")
        if policy == "overwrite":
            chosen.append(final)
            client.posix_rename(temp, final)
            return final
        candidates = itertools.chain([final], suffixed_names(final) if policy == "suffix" else ())
        for candidate in candidates:
            if not sftp_io.exists(client, candidate):
                try:
                    chosen.append(candidate)
                    client.rename(temp, candidate)  # SFTP rename never replaces a file
                    return candidate
                except OSError:
                    if not sftp_io.exists(client, candidate):
                        raise
            if policy == "fail":
                raise TargetError(
                    f"{self.conn.label}: {self.conn.uri(candidate)} already exists",
                    hint="set destination.if_exists: overwrite or suffix",
                )
        raise AssertionError("unreachable: suffixed names never run out")


def _remove(client: Any, path: str) -> None:
    if sftp_io.exists(client, path):
        client.remove(path)
