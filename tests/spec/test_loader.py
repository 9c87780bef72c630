"""Safe YAML loading: positions for every node, no duplicates, no tags, no bombs."""

from __future__ import annotations

import json

import pytest

from engine.errors import SpecError
from engine.spec.loader import MAX_NODES, load_file, load_text


def test_every_key_and_value_has_its_line_and_column() -> None:
    doc = load_text("version: 1\nmapping:\n  fields:\n    qty: {source: quantity, resolver: int}\n", "s.yaml")
    assert doc.data["mapping"]["fields"]["qty"]["resolver"] == "int"
    mark = doc.mark(("mapping", "fields", "qty", "resolver"))
    assert (mark.line, mark.col) == (4, 39)
    key = doc.mark(("mapping", "fields", "qty"), key=True)
    assert (key.line, key.col) == (4, 5)


def test_a_missing_path_points_at_its_nearest_ancestor() -> None:
    doc = load_text("a:\n  b: {c: 1}\n")
    assert (doc.mark(("a", "b", "nope", "deeper")).line, doc.mark(("a", "b", "nope")).col) == (2, 6)


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    with pytest.raises(SpecError) as info:
        load_text("a: 1\nb: 2\na: 3\n", "d.yaml")
    [diag] = info.value.diagnostics
    assert (diag.line, diag.col, diag.path) == (3, 1, "a")
    assert "first defined at line 1" in diag.message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !custom {x: 1}\n",
        "a: !!python/object:object {}\n",
    ],
)
def test_python_and_custom_tags_are_refused(text: str) -> None:
    with pytest.raises(SpecError) as info:
        load_text(text)
    assert "is not allowed" in info.value.diagnostics[0].message


def test_nesting_built_from_aliases_is_held_to_the_same_limit() -> None:
    inner = "a: &deep " + "[" * 40 + "]" * 40
    outer = "\nb: " + "[" * 40 + "*deep" + "]" * 40 + "\n"
    with pytest.raises(SpecError) as info:
        load_text(inner + outer, "alias.yaml")
    (diag,) = info.value.diagnostics
    assert "nested deeper than 64 levels" in diag.message and diag.path.startswith("b[0][0]")


def test_an_alias_bomb_is_stopped() -> None:
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        levels.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    with pytest.raises(SpecError) as info:
        load_text("\n".join(levels) + "\n")
    assert f"more than {MAX_NODES} nodes" in str(info.value)


def test_anchors_and_merge_keys_work_for_reasonable_reuse() -> None:
    doc = load_text("base: &b {type: local, path: in}\nsource:\n  <<: *b\n  path: other\n")
    assert doc.data["source"] == {"type": "local", "path": "other"}


def test_syntax_errors_point_at_the_problem() -> None:
    with pytest.raises(SpecError) as info:
        load_text("a: {b: 1\nc: 2\n", "x.yaml")
    diag = info.value.diagnostics[0]
    assert diag.message.startswith("YAML syntax:") and diag.line == 2


def test_two_documents_are_refused() -> None:
    with pytest.raises(SpecError) as info:
        load_text("a: 1\n---\nb: 2\n")
    assert "one YAML document" in info.value.diagnostics[0].message


def test_files_are_utf8_with_an_optional_bom(tmp_path) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\n")
    assert load_file(p).data == {"name": "café"}
    p.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_file(p)
    assert "not valid UTF-8 at byte 9" in info.value.diagnostics[0].message


def test_empty_spec_says_what_is_expected() -> None:
    with pytest.raises(SpecError) as info:
        load_text("# nothing\n")
    assert "version: 1" in info.value.diagnostics[0].message


# --- deep nesting: a located diagnostic, never a recursion error ----------------------------------

DEEP_HEAD = (
    "version: 1\nname: deep\nsource: {type: local, path: in}\nparser: {type: csv}\n"
    "target: {type: stdout}\nmapping:\n  fields:\n"
)


def deep_spec(levels: int, style: str) -> str:
    """A spec whose one field's value nests ``levels`` deep, in flow or block style."""
    if style == "flow":
        return DEEP_HEAD + "    x: {value: " + "[" * levels + "]" * levels + "}\n"
    lines = ["    x:", "      value:"] + [" " * (8 + 2 * i) + "k:" for i in range(levels)]
    return DEEP_HEAD + "\n".join(lines) + " 1\n"


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_deeper_than_the_limit_is_a_diagnostic_at_its_line(style: str) -> None:
    """Measured on the parser's events before anything recurses (libyaml's composer crashes the process)."""
    from engine.spec.loader import MAX_DEPTH

    with pytest.raises(SpecError) as info:
        load_text(deep_spec(600, style), "deep.yaml")
    (diag,) = info.value.diagnostics
    assert diag.message == f"nested deeper than {MAX_DEPTH} levels (no connector needs that many)"
    assert (diag.line, diag.col) == ((8, 76) if style == "flow" else (70, 129))
    assert load_text(deep_spec(MAX_DEPTH - 5, style), "ok.yaml").data["mapping"]["fields"]["x"]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github"])
@pytest.mark.parametrize("levels", [600, 50_000])
def test_validate_reports_a_deep_spec_in_every_format_with_exit_2(fmt: str, levels: int, tmp_path) -> None:
    """Was a RecursionError traceback, exit 1, and nothing at all on stdout for json and sarif."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    spec = tmp_path / "deep.yaml"
    spec.write_text(deep_spec(levels, "flow"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "validate", "--format", fmt, str(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-1000:]
    # past 1000 levels, libyaml's own limit may speak first (PyYAML 6.0.1 and later)
    assert "nested deeper than 64 levels" in done.stdout or "exceeded maximum nesting depth" in done.stdout
    located = {"json": '"line": 8', "sarif": '"startLine": 8', "github": "line=8"}.get(fmt, "deep.yaml:8:")
    assert located in done.stdout
    if fmt == "json":
        (diag,) = json.loads(done.stdout)
        assert diag["line"] == 8 and diag["severity"] == "error"


def test_a_spec_with_20k_fields_validates_in_linear_time(tmp_path) -> None:
    """Was 97 s and 1.3 GB: every field was compared with every other for clashing targets.

    Measured as the CPU time of a real ``engine validate`` (a busy machine does not fail it);
    the bound is generous, about five times today's figure, and far below the quadratic one.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    fields = "".join(
        f"    field_number_{n:05d}: {{source: some_column_{n:05d}, resolver: trim}}\n" for n in range(20_000)
    )
    spec = tmp_path / "wide.yaml"
    spec.write_text(DEEP_HEAD + fields)
    assert spec.stat().st_size > 1_300_000
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "validate", str(spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, err
    assert err.strip().endswith("wide.yaml: ok")
    assert usage.ru_utime + usage.ru_stime < 30, f"{usage.ru_utime + usage.ru_stime:.1f} s of CPU"
