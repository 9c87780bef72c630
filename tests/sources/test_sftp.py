"""The sftp source against a real OpenSSH sshd: listing, order, lifecycle, streaming, drops."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import yaml

from engine.runtime.report import EXIT_FAILED
from tests.servers.proxy import DropProxy


def spec(
    server,
    tmp_path: Path,
    *,
    source: dict | None = None,
    parser: dict | None = None,
    target: dict | None = None,
    port: int | None = None,
    state: dict | None = None,
    **conn: object,
) -> str:
    src = {
        "type": "sftp",
        "connection": "partner",
        "path": "inbox",
        "pattern": "*.jsonl",
        "on_success": {"move_to": "processed/{name}"},
        "on_failure": {"move_to": "errors/{name}"},
        **(source or {}),
    }
    data = {
        "version": 1,
        "name": "sftp-in",
        "connections": {"partner": server.connection(port=port, **conn)},
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


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_files_are_listed_by_pattern_processed_in_name_order_and_moved_to_processed(
    sftp_server, tmp_path, write_spec, run_spec
):
    for name in ("b.jsonl", "a.jsonl", "c.jsonl"):
        sftp_server.write(f"inbox/{name}", json.dumps({"file": name}) + "\n")
    sftp_server.write("inbox/notes.csv", "x\n")
    sftp_server.write("inbox/deeper/d.jsonl", '{"file": "d"}\n')
    report = run_spec(write_spec(spec(sftp_server, tmp_path)))
    assert report.status == "ok", report.error
    assert [r["file"] for r in lines(tmp_path / "out" / "out.jsonl")] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert sftp_server.files() == [
        "inbox/deeper/d.jsonl",
        "inbox/notes.csv",
        "inbox/processed/a.jsonl",
        "inbox/processed/b.jsonl",
        "inbox/processed/c.jsonl",
    ]
    port = sftp_server.port
    assert [i.moved_to for i in report.items] == [
        f"sftp://127.0.0.1:{port}/upload/inbox/processed/{n}.jsonl" for n in "abc"
    ]
    assert report.items[0].uri == f"sftp://127.0.0.1:{port}/upload/inbox/a.jsonl"


def test_recursive_listing_takes_subfolders_but_not_the_folders_files_were_moved_to(
    sftp_server, tmp_path, write_spec, run_spec
):
    sftp_server.write("inbox/x/2.jsonl", '{"n": 2}\n')
    sftp_server.write("inbox/1.jsonl", '{"n": 1}\n')
    sftp_server.write("inbox/processed/old.jsonl", '{"n": 0}\n')
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"recursive": True})))
    assert report.status == "ok", report.error
    assert [r["n"] for r in lines(tmp_path / "out" / "out.jsonl")] == [1, 2]
    assert sftp_server.files() == [
        "inbox/processed/1.jsonl",
        "inbox/processed/2.jsonl",
        "inbox/processed/old.jsonl",
    ]


def test_sort_by_modified_and_max_files(sftp_server, tmp_path, write_spec, run_spec):
    now = time.time()
    sftp_server.write("inbox/a.jsonl", '{"f": "a"}\n', mtime=now - 10)
    sftp_server.write("inbox/b.jsonl", '{"f": "b"}\n', mtime=now - 30)
    sftp_server.write("inbox/c.jsonl", '{"f": "c"}\n', mtime=now - 20)
    source = {"sort": "modified", "max_files": 2, "on_success": None}
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source=source)))
    assert [r["f"] for r in lines(tmp_path / "out" / "out.jsonl")] == ["b", "c"]
    assert len(report.items) == 2


def test_a_failed_file_goes_to_errors_and_good_files_to_processed(
    sftp_server, tmp_path, write_spec, run_spec
):
    sftp_server.write("inbox/good.json", '[{"ok": 1}]')
    sftp_server.write("inbox/bad.json", '[{"ok": 1}, {"broken": ')
    text = spec(sftp_server, tmp_path, source={"pattern": "*.json"}, parser={"type": "json"})
    report = run_spec(write_spec(text))
    statuses = {i.name: i.status for i in report.items}
    assert statuses == {"bad.json": "failed", "good.json": "done"}
    assert sftp_server.files() == ["inbox/errors/bad.json", "inbox/processed/good.json"]


def test_a_file_failing_mid_way_is_not_moved_and_is_taken_again_by_the_next_run(
    sftp_server, tmp_path, write_spec, run_spec
):
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    sftp_server.write("inbox/b.jsonl", '{"n": 2}\n')
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.jsonl").write_text("someone else's file\n")  # publishing b's output fails
    target = {
        "type": "file",
        "writer": "jsonl",
        "per": "item",
        "destination": {"type": "local", "path": "out", "if_exists": "fail"},
    }
    retry_soon = {"retry": {"backoff": "1ms"}}  # the failed file may be tried again at once
    path = write_spec(spec(sftp_server, tmp_path, target=target, state=retry_soon))
    report = run_spec(path)
    assert report.exit_code == EXIT_FAILED
    assert "already exists" in report.error
    assert sftp_server.files() == ["inbox/b.jsonl", "inbox/processed/a.jsonl"]
    (tmp_path / "out" / "b.jsonl").unlink()
    again = run_spec(path)
    assert again.status == "ok", again.error
    assert [i.name for i in again.items] == ["b.jsonl"]
    assert sftp_server.files() == ["inbox/processed/a.jsonl", "inbox/processed/b.jsonl"]


def test_moves_never_overwrite_an_existing_file(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("inbox/processed/a.jsonl", "earlier\n")
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    report = run_spec(write_spec(spec(sftp_server, tmp_path)))
    assert report.status == "ok", report.error
    moved = f"inbox/processed/a.{report.run_id}.jsonl"
    assert sftp_server.files() == sorted(["inbox/processed/a.jsonl", moved])
    assert (sftp_server.home / "inbox/processed/a.jsonl").read_text() == "earlier\n"
    assert (sftp_server.home / moved).read_text() == '{"n": 1}\n'


def test_absolute_move_targets_and_date_templates(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    source = {"on_success": {"move_to": "/upload/archive/{date:%Y}/{stem}-{run_id}.{ext}"}}
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source=source)))
    assert report.status == "ok", report.error
    assert sftp_server.files() == [f"archive/{report.started:%Y}/a-{report.run_id}.jsonl"]


def test_delete_after_success(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"on_success": {"delete": True}})))
    assert report.items[0].moved_to == "deleted"
    assert sftp_server.files() == []


def test_min_age_leaves_files_still_being_written_for_the_next_run(
    sftp_server, tmp_path, write_spec, run_spec
):
    sftp_server.write("inbox/old.jsonl", '{"f": "old"}\n', mtime=time.time() - 3600)
    sftp_server.write("inbox/new.jsonl", '{"f": "new"}\n')
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"min_age": "5m"})))
    assert [i.name for i in report.items] == ["old.jsonl"]
    assert sftp_server.files() == ["inbox/new.jsonl", "inbox/processed/old.jsonl"]


def test_size_stable_for_leaves_a_growing_file(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("inbox/done.jsonl", '{"f": "done"}\n', mtime=time.time() - 60)
    growing = sftp_server.write("inbox/growing.jsonl", '{"f": "growing"}\n', mtime=time.time() - 60)

    running = threading.Event()
    running.set()

    def keep_writing() -> None:  # a slow upload, still going when the run lists twice
        while running.is_set():
            with growing.open("a") as f:
                f.write('{"f": "more"}\n')
            time.sleep(0.05)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"size_stable_for": "0.5s"})))
    finally:
        running.clear()
        writer.join()
    assert [i.name for i in report.items] == ["done.jsonl"]
    assert "inbox/growing.jsonl" in sftp_server.files()


def test_links_leading_out_of_the_directory_are_not_followed(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("secret.jsonl", '{"secret": true}\n')
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    (sftp_server.home / "inbox" / "escape.jsonl").symlink_to("../secret.jsonl")
    (sftp_server.home / "inbox" / "alias.jsonl").symlink_to("a.jsonl")
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"on_success": None})))
    assert report.status == "ok", report.error
    assert sorted(i.name for i in report.items) == ["a.jsonl", "alias.jsonl"]
    assert all("secret" not in r for r in lines(tmp_path / "out" / "out.jsonl"))


def test_a_missing_directory_is_a_clear_error(sftp_server, tmp_path, write_spec, run_spec):
    report = run_spec(write_spec(spec(sftp_server, tmp_path, source={"path": "nowhere"})))
    assert report.exit_code == EXIT_FAILED
    assert report.error.startswith("sftp connection 'partner': cannot open directory nowhere: no such file")


def _big_jsonl(n: int) -> bytes:
    return b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"x" * 200) for i in range(n))


def test_a_dropped_connection_mid_download_resumes_where_it_stopped(
    sftp_server, tmp_path, write_spec, run_spec
):
    data = _big_jsonl(60_000)  # ~13 MB, well past the first cut
    sftp_server.write("inbox/big.jsonl", data)
    proxy = DropProxy(sftp_server.port)
    try:
        proxy.cut_after(4 << 20, times=2)
        report = run_spec(write_spec(spec(sftp_server, tmp_path, port=proxy.port)))
    finally:
        proxy.stop()
    assert report.status == "ok", report.error
    assert proxy.cuts_done == 2
    assert (tmp_path / "out" / "out.jsonl").read_bytes() == data
    assert sftp_server.files() == ["inbox/processed/big.jsonl"]


def test_a_connection_that_keeps_dropping_fails_the_run_and_leaves_the_file(
    sftp_server, tmp_path, write_spec, run_spec
):
    data = _big_jsonl(30_000)
    sftp_server.write("inbox/big.jsonl", data)
    proxy = DropProxy(sftp_server.port)
    try:
        # the first connection lists, then dies mid-download, and the server stays unreachable
        proxy.cut_after(2 << 20, times=1, then_refuse=True)
        report = run_spec(
            write_spec(
                spec(sftp_server, tmp_path, port=proxy.port, retry={"max_attempts": 3, "backoff": "50ms"})
            )
        )
    finally:
        proxy.stop()
    assert report.exit_code == EXIT_FAILED
    assert re.match(
        r"sftp connection 'partner': (cannot connect to|SSH handshake with) 127\.0\.0\.1:\d+", report.error
    ), report.error
    assert sftp_server.files() == ["inbox/big.jsonl"]
    assert report.items[0].status == "failed"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_names_a_server_should_never_return_cannot_escape_the_directory() -> None:
    """OpenSSH cannot produce these; a broken or hostile server could. Unit level, on purpose."""
    import stat as st
    from types import SimpleNamespace

    from engine.sources.sftp import SftpSource
    from engine.spec.options import build_options

    def attr(name: str, mode: int = st.S_IFREG | 0o644) -> SimpleNamespace:
        return SimpleNamespace(filename=name, st_mode=mode, st_size=1, st_mtime=1_700_000_000)

    listings = {
        "/in": [
            attr("ok.jsonl"),
            attr("../../etc/passwd.jsonl"),
            attr("/etc/shadow.jsonl"),
            attr(".."),
            attr("sub/../../x.jsonl"),
            attr("sub", st.S_IFDIR | 0o755),
            attr("..\\win.jsonl"),
        ],
        "/in/sub": [attr("deep.jsonl"), attr("..", st.S_IFDIR | 0o755)],
    }
    client = SimpleNamespace(listdir_attr=lambda path: listings[path])
    block = {"connection": "partner", "recursive": True, "pattern": "*"}
    source = SftpSource(build_options(SftpSource.Options, SftpSource.schema, block, ("source",), None))
    warnings: list[str] = []
    source.root = "/in"
    source.log = SimpleNamespace(warning=lambda message, **f: warnings.append(f["name"]))
    assert [e.rel for e in source._walk(client)] == ["ok.jsonl", "sub/deep.jsonl"]
    assert len(warnings) == 6


def test_host_user_key_and_directory_given_as_environment_references_are_resolved_at_run_time(
    sftp_server, tmp_path, write_spec, run_spec, monkeypatch
):
    sftp_server.write("drop/a.jsonl", '{"file": "a"}\n')
    for name, value in {
        "TEST_HOST": sftp_server.host,
        "TEST_USER": sftp_server.user,
        "TEST_PIN": sftp_server.host_fingerprint,
        "TEST_DIR": "drop",
    }.items():
        monkeypatch.setenv(name, value)
    path = write_spec(
        spec(
            sftp_server,
            tmp_path,
            source={"path": "${env:TEST_DIR}"},
            host="${env:TEST_HOST}",
            username="${env:TEST_USER}",
            host_key="${env:TEST_PIN}",
        )
    )
    report = run_spec(path)
    assert report.status == "ok", report.error
    assert lines(tmp_path / "out" / "out.jsonl") == [{"file": "a"}]
    assert sftp_server.files() == ["drop/processed/a.jsonl"]
