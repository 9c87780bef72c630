"""Text templates: each value escaped for its content type, names and syntax checked before use."""

from __future__ import annotations

import json

import pytest

from engine.secrets import Secret
from engine.text_templates import AnswerTemplate, TextTemplate, escape_for


@pytest.mark.parametrize(
    ("escape", "value", "expected"),
    [
        ("xml", "a & <b> \"c\" 'd'", "a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;"),
        ("xml", "bell\x07 tab\t", "bell tab\t"),  # XML 1.0 cannot hold \x07 even escaped
        ("xml", None, ""),
        ("xml", True, "true"),
        ("xml", {"id": 1}, "{&quot;id&quot;:1}"),  # objects are written as JSON text
        ("json", 'say "hi"\n', '"say \\"hi\\"\\n"'),
        ("json", None, "null"),
        ("json", 12.5, "12.5"),
        ("json", {"a": [1, None]}, '{"a":[1,null]}'),
        ("csv", "plain", "plain"),
        ("csv", 'a,"b"', '"a,""b"""'),
        ("csv", "two\nlines", '"two\nlines"'),
        ("csv", "cr\r", '"cr\r"'),
        ("csv", None, ""),
        ("text", 'a & "b"', 'a & "b"'),
        ("text", 7, "7"),
    ],
)
def test_values_are_escaped_for_their_content_type(escape: str, value: object, expected: str) -> None:
    problems: list[tuple[str, str]] = []
    template = TextTemplate("[{{ v }}]", ["v"], "body", problems)
    assert problems == []
    assert template.render({"v": value}, escape) == f"[{expected}]"


@pytest.mark.parametrize(
    ("content_type", "escape"),
    [
        ("application/xml", "xml"),
        ("text/xml; charset=utf-8", "xml"),
        ("application/soap+xml", "xml"),
        ("application/json", "json"),
        ("application/problem+json", "json"),
        ("text/csv", "csv"),
        ("text/plain", "text"),
        ("text/html", "text"),
    ],
)
def test_the_escape_follows_the_content_type(content_type: str, escape: str) -> None:
    assert escape_for(content_type) == escape


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ nope }}", "unknown name 'nope' in {{ nope }} (known: a, b)"),
        ("{{ a.b.( }}", "invalid placeholder {{ a.b.( }}"),
        ("{{ length(c) }}", "unknown name 'c'"),
        ("{{ a || c }}", "unknown name 'c'"),
        ("{{ {x: c} }}", "unknown name 'c'"),
        ("{{ a[?c > `1`] }}", ""),  # names inside a filter are the element's, not the scope's
        ("{{ join(',', a[*].x) }} {{ `1` }} {{ @ }}", ""),
    ],
)
def test_placeholders_are_checked_against_the_names_in_scope(text: str, problem: str) -> None:
    problems: list[tuple[str, str]] = []
    TextTemplate(text, ["a", "b"], "body", problems)
    if problem:
        assert len(problems) == 1 and problem in problems[0][1], problems
    else:
        assert problems == []


def test_a_json_answer_stays_json_whatever_the_data_holds() -> None:
    template = AnswerTemplate(
        '{"n": {{ length(records) }}, "lines": [{{ each }}]}',
        '{"row": {{ row }}, "why": {{ reason }}, "in": {{ input }}}',
        separator=",",
        escape="json",
    )
    records = [
        {"row": 1, "reason": 'a "quoted"\n reason', "input": {"x": "}]"}},
        {"row": 2, "reason": None, "input": None},
    ]
    assert json.loads(template.render({}, records)) == {
        "n": 2,
        "lines": [
            {"row": 1, "why": 'a "quoted"\n reason', "in": {"x": "}]"}},
            {"row": 2, "why": None, "in": None},
        ],
    }


def test_secrets_are_redacted_from_what_is_rendered(monkeypatch) -> None:
    monkeypatch.setenv("TEXT_TEMPLATE_SECRET", "s3cr3t-value-of-the-test")
    revealed = Secret("${env:TEXT_TEMPLATE_SECRET}", where="test").reveal()  # the redactor learns it here
    template = TextTemplate("key={{ v }}", ["v"], "body", [])
    rendered = template.render({"v": f"[{revealed}]"}, "text")
    assert "s3cr3t-value-of-the-test" not in rendered and rendered.startswith("key=[")
