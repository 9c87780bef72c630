"""docs/scale.md documents every option of the executors and the PostgreSQL store, with its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.registry import default_registries

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scale.md").read_text(encoding="utf-8")


def _options() -> list[tuple[str, str, str, object]]:
    regs = default_registries()
    out = []
    for kind, name in [("executors", "processes"), ("executors", "dask"), ("state_stores", "postgres")]:
        cls = regs.kind(kind).get(name)
        for option, schema in cls.schema["properties"].items():
            out.append((kind, name, option, schema.get("default")))
    return out


@pytest.mark.parametrize(("kind", "name", "option", "default"), _options(), ids=lambda v: str(v))
def test_every_option_is_in_a_table_with_its_default(kind, name, option, default) -> None:
    rows = [r for r in DOC.splitlines() if re.match(rf"^\| `{re.escape(option)}` \|", r)]
    assert rows, f"docs/scale.md: no row for {name}.{option}"
    if default is not None:
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert any(f"`{shown}`" in r for r in rows), (
            f"docs/scale.md: {name}.{option} without its default {shown}"
        )


def test_the_yaml_examples_are_valid_blocks(tmp_path) -> None:
    from engine.spec.compile import compile_document
    from engine.spec.loader import load_text

    base = "version: 1\nname: doc\nsource: {type: s3, connection: s, prefix: in/}\nparser: {type: csv}\n"
    base += "connections: {s: {type: s3, bucket: stock}}\ntarget: {type: 'null'}\n"
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)
    assert len(blocks) >= 4
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("executor:"):
                text = base + line + "\n"
            elif line.startswith("state:"):
                text = base + block
                break
            else:
                continue
            doc = load_text(text, str(tmp_path / "doc.yaml"), base_dir=tmp_path)
            compile_document(doc, allow_custom_code=True)
