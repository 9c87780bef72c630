"""The sftp connection against a real OpenSSH sshd: authentication, host keys, reuse, errors."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from engine.errors import SpecError
from engine.runtime.report import EXIT_FAILED
from engine.spec.compile import compile_file
from tests.servers.proxy import DropProxy
from tests.servers.sshd import free_port


def spec(server, port: int | None = None, **conn: object) -> str:
    data = {
        "version": 1,
        "name": "sftp-conn",
        "connections": {"partner": server.connection(port=port, **conn)},
        "source": {
            "type": "sftp",
            "connection": "partner",
            "path": "inbox",
            "pattern": "*.jsonl",
            "on_success": {"move_to": "processed/{name}"},
        },
        "parser": {"type": "jsonl"},
        "target": {"type": "null"},
    }
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def inbox(sftp_server):
    sftp_server.write("inbox/a.jsonl", '{"n": 1}\n')
    return sftp_server


def ok(report) -> None:
    assert report.status == "ok", report.error
    assert [i.status for i in report.items] == ["done"]


def test_password_authentication(inbox, write_spec, run_spec):
    ok(run_spec(write_spec(spec(inbox))))


def test_key_authentication(inbox, write_spec, run_spec):
    ok(run_spec(write_spec(spec(inbox, password=None, private_key=str(inbox.key)))))


def test_an_encrypted_key_with_its_passphrase(inbox, write_spec, run_spec, monkeypatch):
    monkeypatch.setenv("KEY_PASSPHRASE", inbox.passphrase)
    ok(
        run_spec(
            write_spec(
                spec(
                    inbox,
                    password=None,
                    private_key=str(inbox.key_with_passphrase),
                    passphrase="${env:KEY_PASSPHRASE}",
                )
            )
        )
    )


def test_an_inline_key_from_a_secret_reference(inbox, write_spec, run_spec):
    ok(run_spec(write_spec(spec(inbox, password=None, private_key=f"${{file:{inbox.key}}}"))))


#: what the report adds to a refused sign-in
HINT = " (check username and the password or private_key the spec refers to)"


def test_a_wrong_password_is_refused_naming_the_connection_and_user(inbox, write_spec, run_spec, monkeypatch):
    monkeypatch.setenv("SFTP_TEST_PASSWORD", "not-the-password")
    report = run_spec(write_spec(spec(inbox)))
    assert report.exit_code == EXIT_FAILED
    assert report.error == (
        "sftp connection 'partner': authentication failed for user 'sftptest' (wrong password)" + HINT
    )
    assert inbox.files() == ["inbox/a.jsonl"]


def test_a_key_the_server_does_not_know_is_refused(inbox, write_spec, run_spec):
    report = run_spec(write_spec(spec(inbox, password=None, private_key=str(inbox.unknown_key))))
    assert report.error == (
        "sftp connection 'partner': authentication failed for user 'sftptest' "
        "(the server did not accept the private key)" + HINT
    )


def test_wrong_key_and_wrong_password_together(inbox, write_spec, run_spec, monkeypatch):
    monkeypatch.setenv("SFTP_TEST_PASSWORD", "nope")
    report = run_spec(write_spec(spec(inbox, private_key=str(inbox.unknown_key))))
    assert report.error == (
        "sftp connection 'partner': authentication failed for user 'sftptest' (wrong password or key)" + HINT
    )


def test_an_encrypted_key_without_or_with_a_wrong_passphrase(inbox, write_spec, run_spec, monkeypatch):
    report = run_spec(write_spec(spec(inbox, password=None, private_key=str(inbox.key_with_passphrase))))
    assert report.error == (
        f"sftp connection 'partner': private key {inbox.key_with_passphrase} is encrypted "
        "(set passphrase (as a ${env:...} reference))"
    )
    monkeypatch.setenv("KEY_PASSPHRASE", "wrong")
    report = run_spec(
        write_spec(
            spec(
                inbox,
                password=None,
                private_key=str(inbox.key_with_passphrase),
                passphrase="${env:KEY_PASSPHRASE}",
            ),
            name="again.yaml",
        )
    )
    assert report.error == (
        f"sftp connection 'partner': private key {inbox.key_with_passphrase} cannot be "
        "loaded: the passphrase is wrong, or it is not a private key"
    )


def test_an_unpinned_host_key_is_refused_showing_the_offered_fingerprint(inbox, write_spec, run_spec):
    report = run_spec(write_spec(spec(inbox, host_key=None)))
    fingerprint = inbox.host_fingerprint
    assert report.exit_code == EXIT_FAILED
    assert report.error.startswith(
        f"sftp connection 'partner': the host key of 127.0.0.1:{inbox.port} is unknown; "
        f"the server offered ssh-ed25519 {fingerprint} (confirm this fingerprint"
    )
    assert f'host_key: "{fingerprint}"' in report.error
    assert inbox.files() == ["inbox/a.jsonl"]


def test_a_changed_host_key_is_refused(inbox, write_spec, run_spec):
    report = run_spec(write_spec(spec(inbox, host_key=inbox.other_host_key_line)))
    assert report.error.startswith(
        f"sftp connection 'partner': the host key of 127.0.0.1:{inbox.port} has CHANGED: the server offered "
        f"ssh-ed25519 {inbox.host_fingerprint}, but SHA256:"
    )
    assert "someone is intercepting the connection" in report.error


def test_the_password_is_never_sent_to_an_unverified_server(inbox, write_spec, run_spec, monkeypatch):
    monkeypatch.setenv("SFTP_TEST_PASSWORD", "not-the-password")
    seen = len(inbox.log.read_text())
    report = run_spec(write_spec(spec(inbox, host_key=inbox.other_host_key_line)))
    assert "CHANGED" in report.error  # refused before authentication, or it would say "wrong password"
    server_log = inbox.log.read_text()[seen:]
    assert "Connection from 127.0.0.1" in server_log
    assert "Failed password" not in server_log


def test_pinning_with_ssh_keyscan_output(inbox, write_spec, run_spec):
    scanned = subprocess.run(
        ["ssh-keyscan", "-p", str(inbox.port), "-t", "ed25519", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in scanned.splitlines() if x and not x.startswith("#"))
    assert line.startswith(f"[127.0.0.1]:{inbox.port} ssh-ed25519 ")
    ok(run_spec(write_spec(spec(inbox, host_key=[inbox.other_host_key_line, line]))))


def test_pinning_with_a_known_hosts_file(inbox, tmp_path, write_spec, run_spec):
    key = inbox.host_key_line.split()
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{inbox.port} {key[0]} {key[1]}\n")
    ok(run_spec(write_spec(spec(inbox, host_key=None, known_hosts="known_hosts"))))


def test_accepting_any_host_key_works_but_validation_warns(inbox, write_spec, run_spec):
    path = write_spec(spec(inbox, host_key=None, insecure_accept_any_host_key=True))
    plan = compile_file(path)
    warnings = [d for d in plan.warnings if d.severity == "warning"]
    assert [d.path for d in warnings] == ["connections.partner.insecure_accept_any_host_key"]
    assert "the server's identity is not checked" in warnings[0].message
    plan.close()
    ok(run_spec(path))


def test_validation_catches_configuration_mistakes(sftp_server, write_spec):
    path = write_spec(
        spec(sftp_server, password=None, host_key="not a key", insecure_accept_any_host_key=True)
    )
    with pytest.raises(SpecError) as info:
        compile_file(path)
    messages = [d.message for d in info.value.diagnostics if d.severity == "error"]
    assert any("neither a SHA256:... fingerprint nor a known_hosts line" in m for m in messages), messages


def test_nothing_listening_is_a_transient_error_naming_the_connection(sftp_server, write_spec, run_spec):
    port = free_port()
    report = run_spec(write_spec(spec(sftp_server, port=port, retry={"max_attempts": 2, "backoff": "50ms"})))
    assert report.exit_code == EXIT_FAILED
    assert (
        report.error == f"sftp connection 'partner': cannot connect to 127.0.0.1:{port}: Connection refused"
    )


def test_one_connection_serves_the_whole_run(sftp_server, write_spec, run_spec):
    for i in range(5):
        sftp_server.write(f"inbox/{i}.jsonl", '{"n": 1}\n')
    proxy = DropProxy(sftp_server.port)
    try:
        report = run_spec(write_spec(spec(sftp_server, port=proxy.port)))
    finally:
        proxy.stop()
    assert report.status == "ok", report.error
    assert len(report.items) == 5
    assert proxy.connections == 1


def test_a_dropped_connection_is_re_established_for_the_next_operation(sftp_server, write_spec, run_spec):
    for i in range(3):
        sftp_server.write(f"inbox/{i}.jsonl", b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 30_000))
    proxy = DropProxy(sftp_server.port)
    try:
        proxy.cut_after(50_000)  # past the handshake, the listing and the first file: dies mid-run
        report = run_spec(write_spec(spec(sftp_server, port=proxy.port)))
    finally:
        proxy.stop()
    assert report.status == "ok", report.error
    assert proxy.cuts_done == 1 and proxy.connections == 2
    assert sftp_server.files() == [f"inbox/processed/{i}.jsonl" for i in range(3)]
