"""The s3 destination of the file target against a real S3 HTTP server."""

from __future__ import annotations

import json

import yaml

from engine.runtime.report import EXIT_FAILED

BUCKET = "exports"


def spec(
    server,
    tmp_path,
    *,
    dest: dict | None = None,
    name: str = "orders.jsonl",
    per: str = "run",
    **conn: object,
) -> str:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    data = {
        "version": 1,
        "name": "to-s3",
        "connections": {"out": server.connection(BUCKET, **conn)},
        "source": {"type": "local", "path": "inbox", "pattern": "*.jsonl"},
        "parser": {"type": "jsonl"},
        "target": {
            "type": "file",
            "writer": "jsonl",
            "name": name,
            "per": per,
            "destination": {"type": "s3", "connection": "out", "prefix": "orders/", **(dest or {})},
        },
        "state": {"retry": {"backoff": "1ms"}},  # a file whose output failed may be tried again at once
    }
    return yaml.safe_dump(data, sort_keys=False)


def body(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_file_is_published_under_the_prefix_with_a_content_type(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n{"id":2}\n')
    data = yaml.safe_load(spec(s3_server, tmp_path, name="orders.json"))
    data["target"]["writer"] = "json"
    report = run_spec(write_spec(yaml.safe_dump(data)))
    assert report.status == "ok", report.error
    assert json.loads(body(s3, "orders/orders.json")) == [{"id": 1}, {"id": 2}]
    assert s3.head_object(Bucket=BUCKET, Key="orders/orders.json")["ContentType"] == "application/json"
    assert report.counts["written"] == 2


def test_if_exists_fail_overwrite_and_suffix(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="orders/orders.jsonl", Body=b"earlier\n")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')

    failed = run_spec(write_spec(spec(s3_server, tmp_path, per="item"), name="fail.yaml"))
    assert failed.exit_code == EXIT_FAILED
    assert failed.error == (
        f"s3 connection 'out': s3://{BUCKET}/orders/orders.jsonl already exists "
        "(set destination.if_exists: overwrite or suffix)"
    )
    assert body(s3, "orders/orders.jsonl") == b"earlier\n"

    suffixed = run_spec(
        write_spec(spec(s3_server, tmp_path, dest={"if_exists": "suffix"}, per="item"), name="sfx.yaml")
    )
    assert suffixed.status == "ok", suffixed.error
    assert body(s3, "orders/orders-1.jsonl") == b'{"id":1}\n'
    assert body(s3, "orders/orders.jsonl") == b"earlier\n"

    (tmp_path / "inbox" / "b.jsonl").write_text('{"id":2}\n')
    replaced = run_spec(
        write_spec(spec(s3_server, tmp_path, dest={"if_exists": "overwrite"}, per="item"), name="ovr.yaml")
    )
    assert replaced.status == "ok", replaced.error
    assert body(s3, "orders/orders.jsonl") == b'{"id":2}\n'


def test_large_files_are_uploaded_in_parts(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    (tmp_path / "inbox").mkdir()
    data = b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"q" * 500) for i in range(25_000))  # ~13 MB
    (tmp_path / "inbox" / "big.jsonl").write_bytes(data)
    text = spec(s3_server, tmp_path, multipart_threshold="5MiB", part_size="5MiB")
    report = run_spec(write_spec(text))
    assert report.status == "ok", report.error
    head = s3.head_object(Bucket=BUCKET, Key="orders/orders.jsonl")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert body(s3, "orders/orders.jsonl") == data


def test_a_missing_bucket_fails_the_run_naming_the_connection(s3_server, tmp_path, write_spec, run_spec):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')
    report = run_spec(write_spec(spec(s3_server, tmp_path)))
    assert report.exit_code == EXIT_FAILED
    assert report.error == (
        f"s3 connection 'out': bucket '{BUCKET}' does not exist "
        "(check bucket, region and endpoint_url of the connection)"
    )
    assert (tmp_path / "inbox" / "a.jsonl").exists()


def test_storage_class_and_encryption_are_passed_on(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')
    dest = {
        "storage_class": "STANDARD_IA",
        "server_side_encryption": "AES256",
        "content_type": "application/x-ndjson",
    }
    report = run_spec(write_spec(spec(s3_server, tmp_path, dest=dest)))
    assert report.status == "ok", report.error
    head = s3.head_object(Bucket=BUCKET, Key="orders/orders.jsonl")
    assert (head["StorageClass"], head["ServerSideEncryption"], head["ContentType"]) == (
        "STANDARD_IA",
        "AES256",
        "application/x-ndjson",
    )


def test_a_prefix_given_as_an_environment_reference_is_resolved_at_run_time(
    s3_server, tmp_path, write_spec, run_spec, monkeypatch
):
    s3 = s3_server.bucket(BUCKET)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')
    monkeypatch.setenv("TEST_PREFIX", "nightly/")
    report = run_spec(write_spec(spec(s3_server, tmp_path, dest={"prefix": "${env:TEST_PREFIX}"})))
    assert report.status == "ok", report.error
    assert body(s3, "nightly/orders.jsonl") == b'{"id":1}\n'
