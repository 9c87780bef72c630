"""The email target against a real SMTP server (aiosmtpd): digests, messages per record, TLS, AUTH, refusals."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file
from tests.servers.smtp import SmtpServer, free_port

PASSWORD = "sm7p-pa55-w0rd-for-tests"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """``smtp(security=..., username=..., password=...) -> SmtpServer`` started on a free port."""
    started: list[SmtpServer] = []

    def start(**options: object) -> SmtpServer:
        server = SmtpServer(tmp_path, **options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def text_of(message: EmailMessage) -> str:
    """The body as written (SMTP carries it with CRLF line ends)."""
    return str(message.get_content()).replace("\r\n", "\n")


def variances(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "variance.csv").write_text(
        "sku,location,variance\nS1,LOC1,7.5\nS2,LOC2,<12>\nS3,LOC1,6\n", encoding="utf-8"
    )


def spec(server: SmtpServer | None, target: str, *, connection: str = "") -> str:
    security, port = (server.security, server.port) if server is not None else ("none", 2525)
    host = "127.0.0.1" if security == "none" else "localhost"  # the test certificate's name
    return f"""
version: 1
name: variance-alerts
connections:
  mail: {{type: smtp, host: {host}, port: {port}, security: {security}{connection}}}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
mapping:
  fields:
    sku: {{source: sku, required: true}}
    location: {{source: location}}
    variance: {{source: variance}}
target:
  type: email
  connection: mail
  sender: "Stock alerts <alerts@shop.example>"
  to: [buyers@shop.example]
{target}
on_error: {{max_reject_ratio: 1}}
"""


DIGEST = """\
  subject: "{{ count }} variances in {{ run.connector }}"
  body: "Above 5 %:\\n{{ each }}\\n"
  each: "- {{ record.sku }} at {{ record.location }}: {{ record.variance }} %"
"""


def test_a_digest_sends_the_run_s_records_in_one_message(smtp, tmp_path, write_spec, run_spec):
    server = smtp()
    variances(tmp_path)
    report = run_spec(write_spec(spec(server, DIGEST)))
    assert report.status == "ok", report.error
    assert report.counts["written"] == 3 and report.target == {"messages": 1, "accepted": 3, "rejected": 0}
    [message] = server.messages
    assert message["Subject"] == "3 variances in variance-alerts"
    assert message["From"] == "Stock alerts <alerts@shop.example>" and message["To"] == "buyers@shop.example"
    assert text_of(message) == ("Above 5 %:\n- S1 at LOC1: 7.5 %\n- S2 at LOC2: <12> %\n- S3 at LOC1: 6 %\n")
    assert message["Message-ID"].endswith("@shop.example>")
    # the file was committed once the digest was sent: a second run sends nothing
    assert run_spec(write_spec(spec(server, DIGEST))).counts["read"] == 0
    assert len(server.messages) == 1


PER_RECORD = """\
  per: record
  content_type: text/html
  subject: "Variance at {{ record.location }}:\\n {{ record.sku }}"
  body: "<p>{{ record.sku }}: {{ record.variance }} %</p>"
"""


def test_a_message_per_record_over_starttls_with_login(smtp, tmp_path, write_spec, run_spec, monkeypatch):
    server = smtp(security="starttls", username="alerts", password=PASSWORD)
    variances(tmp_path)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    login = f', username: alerts, password: "${{env:SMTP_PASSWORD}}", ca_bundle: {server.ca}'
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("engine").addHandler(handler)
    try:
        report = run_spec(write_spec(spec(server, PER_RECORD, connection=login)))
    finally:
        logging.getLogger("engine").removeHandler(handler)
    assert report.status == "ok", report.error
    assert [m["Subject"] for m in server.messages] == [
        "Variance at LOC1: S1",  # a line break in a subject would be a header injection: it is a space
        "Variance at LOC2: S2",
        "Variance at LOC1: S3",
    ]
    assert text_of(server.messages[1]) == "<p>S2: &lt;12&gt; %</p>\n"
    assert server.messages[1].get_content_type() == "text/html"
    assert server.logins == ["alerts"]  # one session for the run
    assert PASSWORD not in stream.getvalue() and PASSWORD not in str(report.as_dict())


def test_implicit_tls(smtp, tmp_path, write_spec, run_spec):
    server = smtp(security="tls")
    variances(tmp_path)
    report = run_spec(write_spec(spec(server, DIGEST, connection=f", ca_bundle: {server.ca}")))
    assert report.status == "ok", report.error
    assert len(server.messages) == 1


def test_a_certificate_from_an_unknown_authority_fails_the_run(smtp, tmp_path, write_spec, run_spec):
    server = smtp(security="starttls")
    variances(tmp_path)
    report = run_spec(write_spec(spec(server, DIGEST)))
    assert report.status == "failed" and report.exit_code == 1
    assert "TLS failed" in report.error and "certificate" in report.error
    assert server.messages == []


def test_a_refused_login_fails_the_run_without_the_password(
    smtp, tmp_path, write_spec, run_spec, monkeypatch
):
    server = smtp(security="starttls", username="alerts", password=PASSWORD)
    variances(tmp_path)
    monkeypatch.setenv("SMTP_PASSWORD", "not-" + PASSWORD)
    login = f', username: alerts, password: "${{env:SMTP_PASSWORD}}", ca_bundle: {server.ca}'
    report = run_spec(write_spec(spec(server, DIGEST, connection=login)))
    assert report.status == "failed"
    assert "refused the login of alerts (535)" in report.error and PASSWORD not in report.error
    assert server.messages == [] and (tmp_path / "in" / "variance.csv").exists()


def test_recipients_refused_for_good_reject_the_records(smtp, tmp_path, write_spec, run_spec):
    server = smtp()
    server.refuse.add("buyers@shop.example")
    variances(tmp_path)
    report = run_spec(write_spec(spec(server, DIGEST)))
    assert report.status == "ok" and report.counts["rejected"]["target"] == 3
    lines = Path(report.rejects_path).read_text(encoding="utf-8")
    assert "buyers@shop.example (550 5.1.1 no such mailbox)" in lines


def test_a_server_that_refuses_for_now_fails_the_run_and_the_file_is_taken_again(
    smtp, tmp_path, write_spec, run_spec
):
    server = smtp()
    server.busy.add("buyers@shop.example")
    variances(tmp_path)
    path = write_spec(spec(server, DIGEST, connection=", retry: {max_attempts: 2, backoff: 10ms}"))
    report = run_spec(path)
    assert report.status == "failed" and "451" in report.error and "gave up after 2 attempts" in report.error
    assert report.counts["written"] == 0 and server.messages == []
    server.busy.clear()
    again = run_spec(path)
    assert again.status == "ok" and again.counts["written"] == 3 and len(server.messages) == 1


def test_a_refusal_for_now_is_retried_by_the_connection_s_policy(smtp, tmp_path, write_spec, run_spec):
    server = smtp()
    server.busy_times["buyers@shop.example"] = 2
    variances(tmp_path)
    report = run_spec(
        write_spec(spec(server, DIGEST, connection=", retry: {max_attempts: 3, backoff: 10ms}"))
    )
    assert report.status == "ok" and report.counts["written"] == 3 and len(server.messages) == 1


def test_an_unreachable_server_is_a_transient_failure(tmp_path, write_spec, run_spec):
    variances(tmp_path)
    port = free_port()
    body = f"""
version: 1
name: unreachable
connections:
  mail: {{type: smtp, host: 127.0.0.1, port: {port}, security: none, timeout: 2s,
         retry: {{max_attempts: 2, backoff: 10ms}}}}
source: {{type: local, path: in, pattern: "*.csv"}}
parser: {{type: csv}}
target: {{type: email, connection: mail, sender: a@b.example, to: [c@d.example], subject: x, body: y}}
"""
    report = run_spec(write_spec(body))
    assert report.status == "failed" and "cannot connect" in report.error
    assert "gave up after 2 attempts" in report.error


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            '  subject: "{{ recod.sku }}"\n  body: x\n  per: record\n',
            "target.subject: unknown name 'recod' in {{ recod.sku }} (did you mean 'record'?)",
        ),
        ('  subject: "{{ count }}"\n  body: "{{ record.sku }}"\n', "target.body: unknown name 'record'"),
        ("  subject: s\n  body: b\n  each: e\n  per: record\n", "target.each: each is for a digest"),
        (
            '  subject: s\n  body: b\n  cc: ["a@b.example, c@d.example"]\n',
            "target.cc[0]: 'a@b.example, c@d.example' is not one e-mail address",
        ),
        (
            "  subject: s\n  body: b\n  reply_to: nobody\n",
            "target.reply_to: 'nobody' is not one e-mail address",
        ),
    ],
)
def test_templates_are_checked_when_the_spec_compiles(tmp_path, write_spec, target, expected):
    with pytest.raises(SpecError) as caught:
        compile_file(str(write_spec(spec(None, target))))
    rendered = [d.render() for d in caught.value.diagnostics if d.severity == "error"]
    assert len(rendered) == 1 and expected in rendered[0], rendered
