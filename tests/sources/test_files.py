"""The rules every file source shares: patterns, move names, safe names, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from engine.errors import ConfigError, DataError
from engine.sources._files import (
    Entry,
    compile_pattern,
    move_templates,
    render_move,
    safe_name,
    select,
    static_dir,
)
from engine.templates import NameTemplate, free_name, suffixed_names

RUN = SimpleNamespace(run_id="R1", connector="c", started=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))


@pytest.mark.parametrize(
    "pattern,name,expected",
    [
        ("*.xml", "orders.xml", True),
        ("*.xml", "orders.xml.bak", False),
        (".xml", "orders.xml", False),  # a glob is anchored: the SDK's '.xml' matched everything or nothing
        ("stock_?.csv", "stock_1.csv", True),
        ("stock_?.csv", "stock_12.csv", False),
        ("[ab]*.csv", "a.csv", True),
        ("file(1).csv", "file(1).csv", True),  # regex metacharacters are literal in globs
        ("regex:^stock_\\d+\\.csv$", "stock_42.csv", True),
        ("regex:\\.xml$", "x.XML", False),
        ("regex:xml", "my-xml-file.txt", True),  # regex: searches
    ],
)
def test_patterns(pattern: str, name: str, expected: bool) -> None:
    assert compile_pattern(pattern)(name) is expected


def test_a_broken_regex_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="invalid regular expression"):
        compile_pattern("regex:([")


def test_move_and_delete_together_is_refused() -> None:
    templates, problems = move_templates(None, {"move_to": "errors/{name}", "delete": True})
    assert templates == {} and problems == [(("on_failure",), "choose move_to or delete, not both")]


@pytest.mark.parametrize(
    "move_to,absolute_ok,problem",
    [
        ("../outside/{name}", False, "'../outside/{name}' leads outside its directory ('..' is not allowed)"),
        ("processed/../../{name}", True, "leads outside its directory"),
        (
            "/archive/{name}",
            False,
            "'/archive/{name}' is an absolute path; it must be relative to its directory",
        ),
        ("{nmae}", False, "unknown placeholder {nmae} in '{nmae}' (did you mean 'name'?)"),
    ],
)
def test_move_templates_that_leave_the_directory_are_mistakes_at_their_path(
    move_to: str, absolute_ok: bool, problem: str
) -> None:
    templates, problems = move_templates({"move_to": move_to}, None, absolute_ok=absolute_ok)
    assert "on_success" not in templates
    assert [(path, message) for path, message in problems if problem in message] == [
        (("on_success", "move_to"), problems[0][1])
    ]


def test_a_local_name_with_backslashes_is_one_name() -> None:
    name = "a..\\..\\x.csv"
    assert render_move(NameTemplate("processed/{name}"), name, RUN, separators="/") == f"processed/{name}"
    with pytest.raises(DataError, match="unsafe file name"):
        render_move(NameTemplate("processed/{name}"), name, RUN)  # remote stores may split on it


@pytest.mark.parametrize(
    "template,absolute_ok,expected",
    [
        ("processed/{date:%Y/%m/%d}/{name}", False, "processed/2026/03/04/a.csv"),
        ("{stem}-{run_id}.{ext}", False, "a-R1.csv"),
        ("/archive/{name}", True, "/archive/a.csv"),
        ("archive//./{name}", False, "archive/a.csv"),
    ],
)
def test_render_move(template: str, absolute_ok: bool, expected: str) -> None:
    assert render_move(NameTemplate(template), "a.csv", RUN, absolute_ok=absolute_ok) == expected


@pytest.mark.parametrize(
    "template,absolute_ok",
    [
        ("../outside/{name}", False),
        ("/archive/../../etc/{name}", True),
        ("/archive/{name}", False),
    ],
)
def test_render_move_never_climbs_out(template: str, absolute_ok: bool) -> None:
    with pytest.raises(DataError, match="unsafe file name"):
        render_move(NameTemplate(template), "a.csv", RUN, absolute_ok=absolute_ok)


def test_static_dir() -> None:
    assert static_dir(NameTemplate("in/processed/{date:%Y}/{name}")) == "in/processed/"
    assert static_dir(NameTemplate("{name}.done")) == ""
    assert static_dir(NameTemplate("/archive/{name}")) == "/archive/"


@pytest.mark.parametrize(
    "name,ok",
    [
        ("a.csv", True),
        (".hidden", True),
        ("..", False),
        (".", False),
        ("", False),
        ("../x", False),
        ("/etc/passwd", False),
        ("a\\..\\b", False),
        ("nul\x00byte", False),
    ],
)
def test_safe_name(name: str, ok: bool) -> None:
    assert safe_name(name) is ok


def test_free_name_never_returns_a_taken_name() -> None:
    taken = {"p/a.csv", "p/a.R1.csv", "p/a.R1-2.csv"}
    assert free_name("p/b.csv", "R1", taken.__contains__) == "p/b.csv"
    assert free_name("p/a.csv", "R1", taken.__contains__) == "p/a.R1-3.csv"


def test_suffixed_names() -> None:
    names = suffixed_names("out/orders.jsonl")
    assert [next(names) for _ in range(3)] == [
        "out/orders-1.jsonl",
        "out/orders-2.jsonl",
        "out/orders-3.jsonl",
    ]


def test_select_orders_filters_and_limits() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    log = SimpleNamespace(info=lambda *a, **k: None)
    entries = [
        Entry("c", "c", 1, now - timedelta(hours=3)),
        Entry("a", "a", 1, now - timedelta(hours=1)),
        Entry("b", "b", 1, now - timedelta(seconds=5)),
    ]
    by_name = select(entries, sort="name", max_files=None, min_age=60, now=now, log=log)
    assert [e.rel for e in by_name] == ["a", "c"]
    by_time = select(entries, sort="modified", max_files=2, min_age=None, now=now, log=log)
    assert [e.rel for e in by_time] == ["c", "a"]
