"""A spec reading from a real sshd and writing through the file target to a real S3 server."""

from __future__ import annotations

import yaml

BUCKET = "exports"


def test_sftp_to_s3_round_trips_bytes_exactly(sftp_server, s3_server, write_spec, run_spec):
    # compact JSON as the jsonl writer writes it, so parsing and writing again changes no byte
    small = b'{"order":"A-1","lines":[{"sku":"S1","qty":2}],"note":"caf\xc3\xa9 \\"quoted\\" \xe2\x80\xa8"}\n'
    big = b"".join(b'{"order":"B-%d","pad":"%s"}\n' % (i, b"v" * 400) for i in range(30_000))  # ~12.6 MB
    sftp_server.write("outbound/a-orders.jsonl", small)
    sftp_server.write("outbound/b-orders.jsonl", big)
    s3 = s3_server.bucket(BUCKET)
    data = {
        "version": 1,
        "name": "sftp-to-s3",
        "connections": {
            "partner": sftp_server.connection(),
            "lake": s3_server.connection(BUCKET, multipart_threshold="5MiB", part_size="5MiB"),
        },
        "source": {
            "type": "sftp",
            "connection": "partner",
            "path": "outbound",
            "pattern": "*-orders.jsonl",
            "on_success": {"move_to": "sent/{name}"},
        },
        "parser": {"type": "jsonl"},
        "target": {
            "type": "file",
            "writer": "jsonl",
            "per": "item",
            "name": "{source}",
            "destination": {"type": "s3", "connection": "lake", "prefix": "orders/"},
        },
    }
    report = run_spec(write_spec(yaml.safe_dump(data, sort_keys=False)))
    assert report.status == "ok", report.error
    assert s3.get_object(Bucket=BUCKET, Key="orders/a-orders.jsonl")["Body"].read() == small
    assert s3.get_object(Bucket=BUCKET, Key="orders/b-orders.jsonl")["Body"].read() == big
    assert s3.head_object(Bucket=BUCKET, Key="orders/b-orders.jsonl")["ETag"].strip('"').endswith("-3")
    assert sftp_server.files() == ["outbound/sent/a-orders.jsonl", "outbound/sent/b-orders.jsonl"]
