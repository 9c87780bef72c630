"""The sftp destination of the file target against a real OpenSSH sshd."""

from __future__ import annotations

import yaml

from engine.runtime.report import EXIT_FAILED
from tests.servers.proxy import DropProxy


def spec(
    server, *, dest: dict | None = None, name: str = "orders.jsonl", port: int | None = None, **conn: object
) -> str:
    data = {
        "version": 1,
        "name": "to-sftp",
        "connections": {"partner": server.connection(port=port, **conn)},
        "source": {"type": "local", "path": "inbox", "pattern": "*.jsonl"},
        "parser": {"type": "jsonl"},
        "target": {
            "type": "file",
            "writer": "jsonl",
            "name": name,
            "per": "item",
            "destination": {
                "type": "sftp",
                "connection": "partner",
                "path": "outbound/orders",
                **(dest or {}),
            },
        },
        "state": {"retry": {"backoff": "1ms"}},  # a file whose output failed may be tried again at once
    }
    return yaml.safe_dump(data, sort_keys=False)


def test_files_are_published_into_new_directories_without_leftovers(
    sftp_server, tmp_path, write_spec, run_spec
):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n{"id":2}\n')
    report = run_spec(write_spec(spec(sftp_server, name="{source_stem}-{run_id}.{ext}")))
    assert report.status == "ok", report.error
    out = f"outbound/orders/a-{report.run_id}.jsonl"
    assert sftp_server.files() == [out]  # no temporary file left behind
    assert (sftp_server.home / out).read_bytes() == b'{"id":1}\n{"id":2}\n'
    assert report.counts["written"] == 2


def test_if_exists_fail_overwrite_and_suffix(sftp_server, tmp_path, write_spec, run_spec):
    sftp_server.write("outbound/orders/orders.jsonl", "earlier\n")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')

    failed = run_spec(write_spec(spec(sftp_server), name="fail.yaml"))
    assert failed.exit_code == EXIT_FAILED
    assert failed.error == (
        f"sftp connection 'partner': sftp://127.0.0.1:{sftp_server.port}/upload/outbound/"
        "orders/orders.jsonl already exists (set destination.if_exists: overwrite or suffix)"
    )
    assert sftp_server.files() == ["outbound/orders/orders.jsonl"]  # the temporary upload was removed
    assert (sftp_server.home / "outbound/orders/orders.jsonl").read_text() == "earlier\n"

    suffixed = run_spec(write_spec(spec(sftp_server, dest={"if_exists": "suffix"}), name="sfx.yaml"))
    assert suffixed.status == "ok", suffixed.error
    assert sftp_server.files() == ["outbound/orders/orders-1.jsonl", "outbound/orders/orders.jsonl"]
    assert (sftp_server.home / "outbound/orders/orders-1.jsonl").read_text() == '{"id":1}\n'

    (tmp_path / "inbox" / "b.jsonl").write_text('{"id":2}\n')
    replaced = run_spec(write_spec(spec(sftp_server, dest={"if_exists": "overwrite"}), name="ovr.yaml"))
    assert replaced.status == "ok", replaced.error
    assert (sftp_server.home / "outbound/orders/orders.jsonl").read_text() == '{"id":2}\n'


def test_without_create_dirs_a_missing_directory_is_a_clear_error(
    sftp_server, tmp_path, write_spec, run_spec
):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')
    report = run_spec(write_spec(spec(sftp_server, dest={"create_dirs": False})))
    assert report.exit_code == EXIT_FAILED
    assert report.error == (
        f"sftp connection 'partner': cannot upload sftp://127.0.0.1:{sftp_server.port}/upload/"
        "outbound/orders/orders.jsonl: no such file or directory"
    )


def test_an_upload_cut_off_is_sent_again_on_a_new_connection(sftp_server, tmp_path, write_spec, run_spec):
    (tmp_path / "inbox").mkdir()
    data = b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"u" * 300) for i in range(20_000))  # ~6.5 MB
    (tmp_path / "inbox" / "a.jsonl").write_bytes(data)
    proxy = DropProxy(sftp_server.port)
    try:
        proxy.cut_after(2 << 20, upload=True)  # the connection dies a third of the way through the upload
        report = run_spec(write_spec(spec(sftp_server, port=proxy.port)))
    finally:
        proxy.stop()
    assert report.status == "ok", report.error
    assert proxy.cuts_done == 1
    assert sftp_server.files() == ["outbound/orders/orders.jsonl"]
    assert (sftp_server.home / "outbound/orders/orders.jsonl").read_bytes() == data


def test_a_directory_given_as_an_environment_reference_is_resolved_at_run_time(
    sftp_server, tmp_path, write_spec, run_spec, monkeypatch
):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.jsonl").write_text('{"id":1}\n')
    monkeypatch.setenv("TEST_DIR", "outbound/nightly")
    report = run_spec(write_spec(spec(sftp_server, dest={"path": "${env:TEST_DIR}"})))
    assert report.status == "ok", report.error
    assert sftp_server.files() == ["outbound/nightly/orders.jsonl"]
