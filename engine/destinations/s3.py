"""An S3 bucket: objects appear complete or not at all.

```yaml
connections:
  exports: {type: s3, bucket: exports, region: eu-west-1}
target:
  type: file
  writer: jsonl
  destination: {type: s3, connection: exports, prefix: orders/, if_exists: suffix}
```

S3 publishes an object only when its upload completes, so readers never see
a partial file. Files above the connection's ``multipart_threshold`` are
uploaded in parts (streamed from disk, ``part_size`` at a time, several in
parallel). ``if_exists`` decides what happens when the key is taken:
``fail`` stops, ``overwrite`` replaces it, ``suffix`` writes ``name-1.ext``.
Single-part uploads claim the key atomically (``If-None-Match``).
"""

from __future__ import annotations

import dataclasses
import itertools
import mimetypes
import os
from typing import Any

from typing_extensions import override

from engine.connections.s3_errors import error_code
from engine.contracts import Check, Destination, RunContext
from engine.errors import TargetError
from engine.secrets import reveal
from engine.templates import safe_relative, suffixed_names

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {
        "connection": {"type": "string", "x-connection": "s3", "description": "an s3 connection"},
        "prefix": {"type": "string", "default": "", "description": "key prefix, e.g. exports/orders/"},
        "if_exists": {
            "enum": ["fail", "overwrite", "suffix"],
            "default": "fail",
            "description": "when the key exists: stop, replace it, or add a suffix",
        },
        "content_type": {"type": "string", "description": "default: guessed from the file extension"},
        "storage_class": {"type": "string", "description": "e.g. STANDARD_IA, GLACIER_IR"},
        "server_side_encryption": {"enum": ["AES256", "aws:kms", "aws:kms:dsse"]},
        "kms_key_id": {"type": "string", "description": "KMS key for server_side_encryption: aws:kms"},
    },
}

_TAKEN = ("PreconditionFailed", "412", "ConditionalRequestConflict")


@dataclasses.dataclass
class S3DestinationOptions:
    """The validated ``s3`` destination block; ``connection`` names an ``s3`` connection."""

    connection: str
    prefix: str
    if_exists: str
    content_type: str | None
    storage_class: str | None
    server_side_encryption: str | None
    kms_key_id: str | None


class S3Destination(Destination):
    """Uploads finished files as objects under a key prefix of a borrowed S3 connection.

    Unless ``if_exists: overwrite``, the key is checked first and, for
    single-part uploads, claimed with ``If-None-Match`` so two runs cannot
    both write it.
    """

    name = "s3"
    summary = "an S3 bucket (multipart for large files)"
    schema = SCHEMA
    Options = S3DestinationOptions

    def __init__(self, options: S3DestinationOptions, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.connection_name = options.connection

    def problems(self) -> list[tuple[tuple, str]]:
        """A KMS key without KMS encryption, which S3 would reject only at upload time.

        Returns:
            ``(sub_path, message)`` pairs; empty when the block is usable.
        """
        if self.options.kms_key_id and self.options.server_side_encryption not in ("aws:kms", "aws:kms:dsse"):
            return [(("kms_key_id",), "kms_key_id needs server_side_encryption: aws:kms")]
        return []

    @override
    def open(self, run: RunContext) -> None:
        self.conn = run.connection(self.options.connection)
        self.prefix = str(reveal(self.options.prefix)).lstrip("/")  # may be a ${env:...} reference

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The prefix can be listed; whether uploads are allowed shows only at the first one (checking would write)."""
        self.open(run)
        conn, prefix = self.conn, self.prefix
        try:
            conn.client.list_objects_v2(Bucket=conn.bucket, Prefix=prefix, MaxKeys=1)
        except Exception as exc:  # botocore's, translated with the connection's name
            raise conn.error(exc, "list", conn.where(prefix), phase="target") from None
        return [
            Check(
                self.path,
                f"{conn.where(prefix)}: reachable; permission to upload is known only at the first upload",
            )
        ]

    def _extra(self, key: str) -> dict[str, Any]:
        o = self.options
        extra: dict[str, Any] = {
            "ContentType": o.content_type or mimetypes.guess_type(key)[0] or "application/octet-stream"
        }
        if o.storage_class:
            extra["StorageClass"] = o.storage_class
        if o.server_side_encryption:
            extra["ServerSideEncryption"] = o.server_side_encryption
        if o.kms_key_id:
            extra["SSEKMSKeyId"] = o.kms_key_id
        return extra

    @override
    def publish(self, local_path: str, name: str, run: RunContext) -> str:
        key = self.prefix + safe_relative(name)
        policy = self.options.if_exists
        candidates = itertools.chain([key], suffixed_names(key) if policy == "suffix" else ())
        for candidate in candidates:
            if policy != "overwrite" and self._exists(candidate):
                if policy == "fail":
                    raise self._taken(candidate)
                continue
            if self._upload(local_path, candidate, claim=policy != "overwrite"):
                return self.conn.where(candidate)
            if policy == "fail":
                raise self._taken(candidate)
        raise AssertionError("unreachable: suffixed names never run out")

    def _upload(self, local_path: str, key: str, *, claim: bool) -> bool:
        """Upload ``key``; False when ``claim`` is set and someone else took the key meanwhile."""
        conn = self.conn
        extra = self._extra(key)
        try:
            if claim and os.path.getsize(local_path) < conn.threshold:
                with open(local_path, "rb") as body:
                    conn.client.put_object(Bucket=conn.bucket, Key=key, Body=body, IfNoneMatch="*", **extra)
                return True
            with conn.transfer_manager() as transfers:
                transfers.upload(local_path, conn.bucket, key, extra_args=extra).result()
            return True
        except Exception as exc:  # translated with the connection's name
            if claim and error_code(exc) in _TAKEN:
                return False
            raise conn.error(exc, "upload", conn.where(key), phase="target") from None

    def _exists(self, key: str) -> bool:
        try:
            self.conn.client.head_object(Bucket=self.conn.bucket, Key=key)
            return True
        except Exception as exc:  # translated with the connection's name
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self.conn.error(exc, "check", self.conn.where(key), phase="target") from None

    def _taken(self, key: str) -> TargetError:
        return TargetError(
            f"{self.conn.label}: {self.conn.where(key)} already exists",
            hint="set destination.if_exists: overwrite or suffix",
        )
