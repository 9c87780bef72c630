"""Safe YAML loading: positions for every node, no duplicates, no tags, no bombs."""

from __future__ import annotations

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
