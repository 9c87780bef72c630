"""A real S3 HTTP server on loopback: moto's threaded server, one per session and xdist worker.

It is an emulator, but boto3 talks to it over HTTP exactly as to AWS:
signed requests, paginated XML listings, multipart uploads, range reads.
State is reset before each test. ``enforce_auth`` turns on signature and
IAM checks (moto accepts any credentials by default) for the tests of
access errors.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

KEY_ID = "testing-key-id"
SECRET = "testing-secret"


class MotoS3:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.port = port
        self.endpoint = f"http://{host}:{port}"

    def _post(self, path: str, data: bytes = b"") -> bytes:
        request = urllib.request.Request(
            f"{self.endpoint}{path}", data=data, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def reset(self) -> None:
        self._post("/moto-api/reset-auth", b"inf")
        self._post("/moto-api/reset")

    def client(self, service: str = "s3", key_id: str = KEY_ID, secret: str = SECRET, **kw: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
            **kw,
        )

    def connection(self, bucket: str, endpoint: str | None = None, **options: object) -> dict:
        """A spec's ``type: s3`` block for this server (credentials from $S3_TEST_KEY_ID/$S3_TEST_SECRET)."""
        block: dict = {
            "type": "s3",
            "bucket": bucket,
            "region": "us-east-1",
            "endpoint_url": endpoint or self.endpoint,
            "path_style": True,
            "access_key_id": "${env:S3_TEST_KEY_ID}",
            "secret_access_key": "${env:S3_TEST_SECRET}",
            "connect_timeout": "5s",
            "read_timeout": "10s",
            "retry": {"max_attempts": 3},
        }
        block.update(options)
        return {k: v for k, v in block.items() if v is not None}

    def bucket(self, name: str) -> Any:
        client = self.client()
        client.create_bucket(Bucket=name)
        return client

    def seed(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Put many objects straight into the server's store (fast set-up; readers still use HTTP)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key, value in objects.items():
            backend.put_object(bucket, key, value)

    @contextlib.contextmanager
    def enforce_auth(self) -> Iterator[dict[str, dict[str, str]]]:
        """Signatures and IAM policies are checked inside the block.

        Yields credentials: ``admin`` (s3:* and iam:*) and ``reader`` (no S3
        permission at all). The first three requests are let through
        unauthenticated to create the admin and its key.
        """
        self._post("/moto-api/reset-auth", b"3")
        iam = self.client("iam")
        iam.create_user(UserName="admin")
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}],
        }
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(policy))
        admin = {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        iam = self.client("iam", admin["key_id"], admin["secret"])
        iam.create_user(UserName="reader")
        other = iam.create_access_key(UserName="reader")["AccessKey"]
        reader = {"key_id": other["AccessKeyId"], "secret": other["SecretAccessKey"]}
        try:
            yield {"admin": admin, "reader": reader}
        finally:
            self._post("/moto-api/reset-auth", b"inf")

    def stop(self) -> None:
        self.server.stop()
