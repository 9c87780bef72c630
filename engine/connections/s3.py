"""An S3 bucket (AWS or any S3-compatible store) shared by sources and destinations.

```yaml
connections:
  wms:
    type: s3
    bucket: wms-out
    region: eu-west-1
    access_key_id: ${env:WMS_KEY_ID}
    secret_access_key: ${env:WMS_SECRET}
```

Without credentials the default AWS chain applies (environment, profile,
instance or task role). ``endpoint_url`` with ``path_style: true`` reaches
MinIO, Ceph, moto and other S3-compatible stores. One client serves the whole
run. ``retry`` is the engine's one retry policy: botocore tries each request
up to ``retry.max_attempts`` times (throttling, 5xx, dropped connections,
with its own backoff), and a download that drops reopens where it stopped,
paced by ``retry.backoff`` and ``retry.max_backoff``. The old ``retries: N``
still works (as ``max_attempts: N+1``) and is reported as deprecated.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from typing_extensions import override

from engine.connections import s3_errors
from engine.connections._common import connection_name
from engine.contracts import Check, Connection, RunContext
from engine.errors import EngineError
from engine.retry import SCHEMA as RETRY_SCHEMA
from engine.retry import RetryPolicy, legacy_schema, legacy_warnings, with_legacy
from engine.secrets import reveal
from engine.units import duration, size

_LEGACY = legacy_schema("retries")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["bucket"],
    "properties": {
        "bucket": {"type": "string", "minLength": 3, "description": "bucket name"},
        "region": {
            "type": "string",
            "description": "AWS region, e.g. eu-west-1 (default: from the AWS chain)",
        },
        "endpoint_url": {"type": "string", "description": "S3-compatible endpoint, e.g. http://minio:9000"},
        "path_style": {
            "type": "boolean",
            "default": False,
            "description": "address buckets as endpoint/bucket/key (most S3-compatible stores)",
        },
        "access_key_id": {"type": "string", "writeOnly": True},
        "secret_access_key": {"type": "string", "writeOnly": True},
        "session_token": {"type": "string", "writeOnly": True},
        "profile": {"type": "string", "description": "a named profile from ~/.aws/config"},
        "connect_timeout": duration("time allowed to connect", default="10s"),
        "read_timeout": duration("time allowed between bytes of an answer", default="60s"),
        "retry": RETRY_SCHEMA,
        **_LEGACY["properties"],
        "multipart_threshold": size("uploads and copies above this size go in parts", default="64MiB"),
        "part_size": size("size of each part of a multipart upload or copy (at least 5MiB)", default="16MiB"),
        "max_concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "description": "parts transferred at once",
        },
    },
    "dependentSchemas": _LEGACY["dependentSchemas"],
}


@dataclasses.dataclass
class S3Options:
    """The validated ``s3`` connection block; sizes in bytes and timeouts in seconds."""

    bucket: str
    region: str | None
    endpoint_url: str | None
    path_style: bool
    access_key_id: Any
    secret_access_key: Any
    session_token: Any
    profile: str | None
    connect_timeout: float
    read_timeout: float
    retry: RetryPolicy
    retries: int | None
    multipart_threshold: int
    part_size: int
    max_concurrency: int


class S3Connection(Connection):
    """One boto3 client for one bucket, shared by the spec's S3 sources and destinations.

    The client is built on first use (``open`` or :attr:`client`), so a
    plugin that borrows the connection need not open it first.
    """

    name = "s3"
    summary = "an S3 bucket (AWS or S3-compatible)"
    schema = SCHEMA
    Options = S3Options

    def __init__(self, options: S3Options, *, path: str = "") -> None:
        super().__init__(options, path=path)
        self.label = f"s3 connection '{connection_name(path)}'"
        self.bucket = str(options.bucket)  # as written until open(): it may be a ${env:...} reference
        self.connect_timeout: float = options.connect_timeout
        self.read_timeout: float = options.read_timeout
        self.threshold: int = options.multipart_threshold
        self.part_size: int = options.part_size
        self.policy = with_legacy(options.retry, options.retries)
        self._client: Any = None

    def problems(self) -> list[tuple[tuple, str]]:
        """Credential and part-size mistakes the compiler reports before anything runs.

        Returns:
            ``(sub_path, message)`` pairs; empty when the block is usable.
        """
        out: list[tuple[tuple, str]] = []
        o = self.options
        if bool(o.access_key_id) != bool(o.secret_access_key):
            out.append(
                (
                    (),
                    "access_key_id and secret_access_key go together: set both, or neither "
                    "to use the default AWS credential chain",
                )
            )
        if o.session_token and not o.access_key_id:
            out.append((("session_token",), "session_token needs access_key_id and secret_access_key"))
        if self.part_size < 5 << 20:
            out.append((("part_size",), "S3 parts must be at least 5MiB"))
        return out

    def warnings(self) -> list[tuple[tuple, str]]:
        """The deprecated ``retries``, with the ``retry`` block to write instead.

        Returns:
            ``(sub_path, message)`` pairs; empty when nothing is deprecated.
        """
        return list(legacy_warnings(self.options.retries))

    @override
    def open(self, run: RunContext | None = None) -> None:
        if self._client is not None:
            return
        import boto3
        from botocore.config import Config

        o = self.options
        try:
            session = boto3.session.Session(
                aws_access_key_id=reveal(o.access_key_id) or None,
                aws_secret_access_key=reveal(o.secret_access_key) or None,
                aws_session_token=reveal(o.session_token) or None,
                region_name=reveal(o.region),
                profile_name=reveal(o.profile),
            )
            config = Config(
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries={"total_max_attempts": self.policy.max_attempts, "mode": "standard"},
                s3={"addressing_style": "path" if o.path_style else "auto"},
                max_pool_connections=max(10, o.max_concurrency * 2),
                user_agent_extra="engine",
            )
            self._client = session.client("s3", endpoint_url=reveal(o.endpoint_url) or None, config=config)
            self.bucket = str(reveal(o.bucket))
        except EngineError:
            raise
        except Exception as exc:  # botocore's configuration errors, translated
            raise self.error(exc, "connect to", self.where(), phase="connection") from None

    @override
    def check(self, run: RunContext) -> list[Check]:
        """The bucket answers to these credentials (``HeadBucket``: reads nothing, changes nothing)."""
        self.open(run)
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self.error(exc, "reach", self.where(), phase="connection") from None
        return [Check(self.path, f"bucket {self.where()} reachable with these credentials")]

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created on first access; raises the translated error if it cannot be."""
        if self._client is None:
            self.open()
        return self._client

    def transfer_config(self) -> Any:
        """boto3's ``TransferConfig`` from the block's multipart threshold, part size and concurrency."""
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.threshold,
            multipart_chunksize=self.part_size,
            max_concurrency=self.options.max_concurrency,
            use_threads=True,
        )

    def transfer_manager(self) -> Any:
        """Managed multipart transfers whose errors are botocore's own, not wrapped."""
        from boto3.s3.transfer import create_transfer_manager

        return create_transfer_manager(self.client, self.transfer_config())

    def where(self, key: str = "") -> str:
        """``s3://bucket/key`` for messages; the bucket itself when ``key`` is empty."""
        return f"s3://{self.bucket}/{key}"

    def error(self, exc: BaseException, action: str, where: str, *, phase: str) -> EngineError:
        """Translate a botocore/boto3 exception into an engine error naming this connection.

        The caller raises what is returned; engine errors come back unchanged.

        Args:
            exc: what boto3 or botocore raised.
            action: the verb for the message (``list``, ``read``, ``upload`` ...).
            where: the object or prefix it concerned, usually from :meth:`where`.
            phase: ``source``, ``target`` or ``connection``: picks the fatal and
                transient error classes.

        Returns:
            The engine error to raise, fatal or transient according to the cause.
        """
        return s3_errors.translate(
            self.label, exc, action=action, where=where, phase=phase, bucket=self.bucket
        )

    @override
    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a pool must not hide the run's outcome
                pass
        super().close()
