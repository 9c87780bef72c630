"""The http target as a chat webhook (message: {text: ...}) against a Slack-style endpoint on loopback."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.spec.compile import compile_file
from tests.http.server import CHAT_TOKEN

SPEC = """
version: 1
name: quarantine-alerts
connections:
  chat: {{type: http, base_url: "${{env:CHAT_WEBHOOK_URL}}"}}
source: {{type: local, path: in, pattern: "*.jsonl"}}
parser: {{type: jsonl}}
mapping:
  fields:
    file: {{source: file, required: true}}
    reason: {{source: reason}}
target:
  type: http
  connection: chat
  path: ""
  concurrency: 1
  message: {message}
on_error: {{max_reject_ratio: 1}}
"""


def alerts(tmp_path: Path, rows: list[dict]) -> None:
    (tmp_path / "in").mkdir(exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "in" / "alerts.jsonl").write_text(text, encoding="utf-8")


def test_each_record_is_posted_as_a_chat_message(api, tmp_path, write_spec, run_spec, monkeypatch):
    monkeypatch.setenv("CHAT_WEBHOOK_URL", f"{api.url}/hooks/chat/{CHAT_TOKEN}")
    alerts(
        tmp_path,
        [
            {"file": "stock_0301.csv", "reason": 'row 7: qty "ten" <not a number>'},
            {"file": "stock_0302.csv", "reason": None},
        ],
    )
    message = '{text: ":warning: {{ record.file }} quarantined in {{ run.connector }}: {{ record.reason }}"}'
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("engine").addHandler(handler)
    try:
        report = run_spec(write_spec(SPEC.format(message=message)))
    finally:
        logging.getLogger("engine").removeHandler(handler)
    assert report.status == "ok", report.error
    assert report.counts["written"] == 2
    assert api.chat == [
        ':warning: stock_0301.csv quarantined in quarantine-alerts: row 7: qty "ten" <not a number>',
        ":warning: stock_0302.csv quarantined in quarantine-alerts: ",
    ]
    # the webhook URL is the credential: it shows nowhere
    assert CHAT_TOKEN not in stream.getvalue() and CHAT_TOKEN not in json.dumps(report.as_dict(), default=str)


def test_a_refused_message_rejects_its_record_with_the_answer(
    api, tmp_path, write_spec, run_spec, monkeypatch
):
    monkeypatch.setenv("CHAT_WEBHOOK_URL", f"{api.url}/hooks/chat/{CHAT_TOKEN}")
    alerts(tmp_path, [{"file": "a.csv"}, {"file": "b.csv"}])
    report = run_spec(write_spec(SPEC.format(message='{text: "{{ record.reason }}", key: content}')))
    assert (
        report.counts["rejected"]["target"] == 2 and api.chat == []
    )  # {"content": ...} is not Slack's shape
    lines = Path(report.rejects_path).read_text(encoding="utf-8")
    assert "no_text" in lines


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{text: "{{ recrd.file }}"}', "target.message.text: unknown name 'recrd'"),
        ('{text: "{{ record.[ }}"}', "target.message.text: invalid placeholder"),
    ],
)
def test_chat_messages_are_checked_when_the_spec_compiles(write_spec, message, expected):
    with pytest.raises(SpecError) as caught:
        compile_file(str(write_spec(SPEC.format(message=message))))
    rendered = [d.render() for d in caught.value.diagnostics if d.severity == "error"]
    assert len(rendered) == 1 and expected in rendered[0], rendered
