"""The s3 source against a real S3 HTTP server (moto): listing, order, lifecycle, streaming, drops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from engine.runtime.report import EXIT_FAILED
from tests.servers.proxy import DropProxy

BUCKET = "wms-out"


def spec(
    server,
    *,
    source: dict | None = None,
    parser: dict | None = None,
    target: dict | None = None,
    endpoint: str | None = None,
    state: dict | None = None,
    **conn: object,
) -> str:
    src = {
        "type": "s3",
        "connection": "wms",
        "prefix": "in/",
        "pattern": "*.jsonl",
        "on_success": {"move_to": "done/{name}"},
        "on_failure": {"move_to": "errors/{name}"},
        **(source or {}),
    }
    data = {
        "version": 1,
        "name": "s3-in",
        "connections": {"wms": server.connection(BUCKET, endpoint, **conn)},
        "source": {k: v for k, v in src.items() if v is not None},
        "parser": parser or {"type": "jsonl"},
        "target": target
        or {
            "type": "file",
            "writer": "jsonl",
            "destination": {"type": "local", "path": "out"},
            "name": "out.jsonl",
        },
    }
    if state:
        data["state"] = state
    return yaml.safe_dump(data, sort_keys=False)


def keys(client, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents") or ())


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_2500_objects_are_listed_across_pages_and_processed_in_key_order(s3_server, tmp_path, write_spec):
    s3_server.bucket(BUCKET)
    names = [f"in/stock-{i:05d}.jsonl" for i in range(2500)]
    s3_server.seed(BUCKET, {k: json.dumps({"key": k}).encode() + b"\n" for k in reversed(names)})
    path = write_spec(spec(s3_server, source={"on_success": None}))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "run", str(path)], capture_output=True, text=True, timeout=600
    )
    print(f"2,500 objects through `engine run`: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["key"] for r in lines(tmp_path / "out" / "out.jsonl")] == names


def test_prefix_pattern_and_subfolders(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    for key in ("in/a.jsonl", "in/b.csv", "in/sub/c.jsonl", "in/", "other/d.jsonl", "in/.hidden.jsonl"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"k": "%s"}\n' % key.encode())
    flat = run_spec(write_spec(spec(s3_server, source={"on_success": None})))
    assert [i.name for i in flat.items] == ["a.jsonl"]
    deep = run_spec(
        write_spec(
            spec(
                s3_server,
                source={"on_success": None, "recursive": True, "pattern": "regex:^[a-c]\\.(jsonl|csv)$"},
                parser={"type": "jsonl"},
            ),
            name="deep.yaml",
        ),
        overrides=["name=deep"],
    )
    assert [i.uri for i in deep.items] == [
        f"s3://{BUCKET}/in/a.jsonl",
        f"s3://{BUCKET}/in/b.csv",
        f"s3://{BUCKET}/in/sub/c.jsonl",
    ]


def test_sort_by_modified_and_max_files(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    for name in ("c", "a", "b"):
        s3.put_object(Bucket=BUCKET, Key=f"in/{name}.jsonl", Body=b'{"f": "%s"}\n' % name.encode())
        time.sleep(1.05)  # S3 keeps modification times to the second
    report = run_spec(write_spec(spec(s3_server, source={"sort": "modified", "max_files": 2})))
    assert [r["f"] for r in lines(tmp_path / "out" / "out.jsonl")] == ["c", "a"]
    assert keys(s3) == ["done/a.jsonl", "done/c.jsonl", "in/b.jsonl"]
    assert len(report.items) == 2


def test_success_moves_to_processed_failure_to_errors(s3_server, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/good.json", Body=b'[{"ok": 1}]')
    s3.put_object(Bucket=BUCKET, Key="in/bad.json", Body=b'[{"ok": 1}, {"broken": ')
    source = {"pattern": "*.json", "on_success": {"move_to": "in/processed/{date:%Y}/{name}"}}
    report = run_spec(write_spec(spec(s3_server, source=source, parser={"type": "json"})))
    assert {i.name: i.status for i in report.items} == {"bad.json": "failed", "good.json": "done"}
    year = f"{report.started:%Y}"
    assert keys(s3) == ["errors/bad.json", f"in/processed/{year}/good.json"]
    assert report.items[1].moved_to == f"s3://{BUCKET}/in/processed/{year}/good.json"
    assert s3.get_object(Bucket=BUCKET, Key="errors/bad.json")["Body"].read() == b'[{"ok": 1}, {"broken": '


def test_a_file_failing_mid_way_is_not_moved_to_processed(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')
    s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=b'{"n": 2}\n')
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.jsonl").write_text("taken\n")
    target = {
        "type": "file",
        "writer": "jsonl",
        "per": "item",
        "destination": {"type": "local", "path": "out"},
    }
    retry_soon = {"retry": {"backoff": "1ms"}}  # the failed file may be tried again at once
    path = write_spec(spec(s3_server, target=target, state=retry_soon))
    report = run_spec(path)
    assert report.exit_code == EXIT_FAILED
    assert keys(s3) == ["done/a.jsonl", "in/b.jsonl"]
    (tmp_path / "out" / "b.jsonl").unlink()
    assert run_spec(path).status == "ok"
    assert keys(s3) == ["done/a.jsonl", "done/b.jsonl"]


def test_moves_never_overwrite_and_delete_removes(s3_server, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="done/a.jsonl", Body=b"earlier\n")
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')
    report = run_spec(write_spec(spec(s3_server)))
    assert keys(s3) == sorted(["done/a.jsonl", f"done/a.{report.run_id}.jsonl"])
    assert s3.get_object(Bucket=BUCKET, Key="done/a.jsonl")["Body"].read() == b"earlier\n"
    s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=b'{"n": 2}\n')
    target = {"type": "file", "destination": {"type": "local", "path": "out"}, "name": "second.jsonl"}
    gone = run_spec(
        write_spec(spec(s3_server, source={"on_success": {"delete": True}}, target=target), name="del.yaml")
    )
    assert gone.status == "ok", gone.error
    assert [i.moved_to for i in gone.items] == ["deleted"]
    assert keys(s3, "in/") == []


def test_large_objects_are_moved_with_a_multipart_copy(s3_server, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    data = b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"y" * 500) for i in range(25_000))  # ~13 MB
    s3.put_object(Bucket=BUCKET, Key="in/big.jsonl", Body=data)
    report = run_spec(write_spec(spec(s3_server, multipart_threshold="5MiB", part_size="5MiB")))
    assert report.status == "ok", report.error
    moved = s3.head_object(Bucket=BUCKET, Key="done/big.jsonl")
    assert moved["ETag"].strip('"').endswith("-3")  # copied in three parts
    assert s3.get_object(Bucket=BUCKET, Key="done/big.jsonl")["Body"].read() == data


def test_an_object_arriving_during_the_run_waits_for_the_next_run(s3_server, tmp_path, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')
    s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=b'{"n": 2}\n')
    from engine.runtime.runner import Runner, RunOptions
    from engine.spec.compile import compile_file

    plan = compile_file(write_spec(spec(s3_server)))
    write = plan.target.write

    def write_and_upload(batch):  # a producer drops a new file while the run is busy
        s3.put_object(Bucket=BUCKET, Key="in/a-late.jsonl", Body=b'{"n": 3}\n')
        return write(batch)

    plan.target.write = write_and_upload
    report = Runner(plan, RunOptions(progress=False)).run()
    assert [i.name for i in report.items] == ["a.jsonl", "b.jsonl"]
    assert keys(s3) == ["done/a.jsonl", "done/b.jsonl", "in/a-late.jsonl"]


def test_min_age_leaves_objects_still_being_written(s3_server, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/old.jsonl", Body=b'{"n": 1}\n')
    time.sleep(5.2)  # S3 times have whole seconds; the margin holds on a loaded machine
    s3.put_object(Bucket=BUCKET, Key="in/new.jsonl", Body=b'{"n": 2}\n')
    report = run_spec(write_spec(spec(s3_server, source={"min_age": "5s"})))
    assert [i.name for i in report.items] == ["old.jsonl"]
    assert keys(s3) == ["done/old.jsonl", "in/new.jsonl"]


def test_an_object_replaced_after_listing_is_not_read_half_old_half_new(s3_server, write_spec, run_spec):
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl", Body=b'{"n": 1}\n')
    s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=b'{"v": "old"}\n')
    from engine.runtime.runner import Runner, RunOptions
    from engine.spec.compile import compile_file

    per_item = {
        "type": "file",
        "writer": "jsonl",
        "per": "item",
        "destination": {"type": "local", "path": "out"},
    }
    plan = compile_file(write_spec(spec(s3_server, target=per_item)))
    write = plan.target.write

    def write_and_replace(batch):
        s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=b'{"v": "new"}\n')
        return write(batch)

    plan.target.write = write_and_replace
    report = Runner(plan, RunOptions(progress=False)).run()
    assert report.exit_code == EXIT_FAILED
    assert report.error == (
        f"s3 connection 'wms': s3://{BUCKET}/in/b.jsonl was replaced after it was listed "
        "(the new version is read on the next run)"
    )
    assert keys(s3) == ["done/a.jsonl", "in/b.jsonl"]


def _big(n: int) -> bytes:
    return b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"z" * 200) for i in range(n))


def test_a_dropped_connection_mid_download_resumes_with_a_range_request(
    s3_server, tmp_path, write_spec, run_spec
):
    data = _big(50_000)  # ~11 MB
    s3_server.bucket(BUCKET).put_object(Bucket=BUCKET, Key="in/big.jsonl", Body=data)
    proxy = DropProxy(s3_server.port)
    try:
        proxy.cut_after(3 << 20, times=2)
        report = run_spec(write_spec(spec(s3_server, endpoint=f"http://127.0.0.1:{proxy.port}")))
    finally:
        proxy.stop()
    assert report.status == "ok", report.error
    assert proxy.cuts_done == 2, (proxy.cuts_done, proxy.connections)
    assert (tmp_path / "out" / "out.jsonl").read_bytes() == data


def test_a_connection_that_keeps_dropping_fails_cleanly_and_leaves_the_object(
    s3_server, tmp_path, write_spec, run_spec
):
    data = _big(50_000)
    s3 = s3_server.bucket(BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/big.jsonl", Body=data)
    proxy = DropProxy(s3_server.port)
    try:
        proxy.cut_after(1 << 20, times=1000)
        report = run_spec(
            write_spec(spec(s3_server, endpoint=f"http://127.0.0.1:{proxy.port}", retry={"max_attempts": 3}))
        )
    finally:
        proxy.stop()
    assert report.exit_code == EXIT_FAILED
    assert report.error.startswith(
        f"s3 connection 'wms': cannot read s3://{BUCKET}/in/big.jsonl: the connection failed"
    ), report.error
    assert report.items[0].status == "failed"
    assert keys(s3) == ["in/big.jsonl"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


PEAK = """
import json, resource, sys
from engine.runtime.runner import RunOptions, Runner
from engine.spec.compile import compile_file

def status(field):  # VmHWM is this process's own peak; ru_maxrss would include the forking parent's
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))

plan = compile_file(sys.argv[1])
plan.connections["wms"].open(None)      # boto3 and its service model are loaded: not the object's cost
base = status("VmRSS")
report = Runner(plan, RunOptions(progress=False)).run()
print(json.dumps({"status": report.status, "error": report.error, "read": report.counts.get("read"),
                  "base": base, "peak": status("VmHWM")}))
"""


@pytest.mark.slow
def test_a_200_mb_object_streams_with_flat_memory(s3_server, tmp_path, write_spec):
    line = b'{"sku":"S%07d","pad":"' + b"p" * 970 + b'"}\n'
    big = tmp_path / "big.jsonl"
    count = 0
    with big.open("wb") as f:
        while f.tell() < 200 * 1000 * 1000:
            f.write(line % count)
            count += 1
    s3 = s3_server.bucket(BUCKET)
    s3.upload_file(str(big), BUCKET, "in/big.jsonl")
    big.unlink()
    path = write_spec(spec(s3_server, source={"on_success": None}, target={"type": "null"}))
    child = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=600
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    growth = (result["peak"] - result["base"]) / 1e6
    print(f"200 MB object: peak RSS growth {growth:.1f} MB")
    assert result["status"] == "ok", result["error"]
    assert result["read"] == count
    assert growth < 100, f"peak RSS grew by {growth:.0f} MB while streaming 200 MB"


def test_keys_with_dot_segments_or_empty_segments_are_skipped(
    s3_server, tmp_path, write_spec, run_spec, caplog
):
    s3 = s3_server.bucket(BUCKET)
    for key in ("in/ok.jsonl", "in/sub/../../evil.jsonl", "in//x.jsonl", "in/./y.jsonl"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"k": "%s"}\n' % key.encode())
    report = run_spec(write_spec(spec(s3_server, source={"recursive": True})))
    assert report.status == "ok", report.error
    assert [i.name for i in report.items] == ["ok.jsonl"]
    assert keys(s3) == ["done/ok.jsonl", "in/./y.jsonl", "in//x.jsonl", "in/sub/../../evil.jsonl"]
    skipped = sorted(r.fields["key"] for r in caplog.records if r.getMessage() == "unsafe key skipped")
    assert skipped == ["in/./y.jsonl", "in//x.jsonl", "in/sub/../../evil.jsonl"]


def test_bucket_endpoint_and_prefix_given_as_environment_references_are_resolved_at_run_time(
    s3_server, tmp_path, write_spec, run_spec, monkeypatch
):
    s3_server.bucket(BUCKET)
    s3_server.seed(BUCKET, {"drop/a.jsonl": b'{"k": "a"}\n'})
    monkeypatch.setenv("TEST_BUCKET", BUCKET)
    monkeypatch.setenv("TEST_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("TEST_PREFIX", "drop/")
    data = yaml.safe_load(spec(s3_server, source={"prefix": "${env:TEST_PREFIX}"}))
    data["connections"]["wms"].update(bucket="${env:TEST_BUCKET}", endpoint_url="${env:TEST_ENDPOINT}")
    report = run_spec(write_spec(yaml.safe_dump(data)))
    assert report.status == "ok", report.error
    assert lines(tmp_path / "out" / "out.jsonl") == [{"k": "a"}]
    assert keys(s3_server.client()) == ["done/a.jsonl"]
