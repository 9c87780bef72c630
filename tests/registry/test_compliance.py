"""Every registered plugin keeps the plugin contract (STYLE 25)."""

from __future__ import annotations

import dataclasses
import io

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.contracts import Item
from engine.errors import EngineError
from engine.registry import KINDS, default_registries, example_of
from engine.spec.compile import compile_document
from engine.spec.compose import block_schema
from engine.spec.loader import load_text
from engine.spec.options import build_options

REGS = default_registries()
PLUGINS = [(kind, name) for kind in KINDS if kind not in ("resolvers",) for name in REGS.kind(kind).names()]
BASE = {
    "version": 1,
    "name": "example",
    "source": {"type": "local", "path": "in"},
    "parser": {"type": "csv"},
    "target": {"type": "null"},
}


def _spec_with(example: dict) -> dict:
    spec = {**BASE, **example}
    source = REGS.sources.get(spec["source"]["type"]) if isinstance(spec.get("source"), dict) else None
    if source is not None and source.produces == "records" and "parser" not in example:
        spec.pop("parser", None)
    return spec


@pytest.mark.parametrize("kind,name", PLUGINS, ids=[f"{k}.{n}" for k, n in PLUGINS])
def test_plugin_has_a_valid_schema_options_and_example(kind: str, name: str, tmp_path) -> None:
    cls = REGS.kind(kind).get(name)
    assert cls.name == name and cls.kind == kind
    assert cls.summary, f"{kind} {name} has no summary"
    Draft202012Validator.check_schema(block_schema(cls))
    if cls.Options is not dict:
        fields = {f.name for f in dataclasses.fields(cls.Options)}
        assert fields == set(cls.schema.get("properties", {})), "Options fields must match schema properties"
    example = example_of(cls)
    assert example, f"{kind} {name}: the module docstring needs a ```yaml example"
    data = yaml.safe_load(example)
    assert isinstance(data, dict), "the example is a spec fragment (e.g. 'parser: {...}')"
    doc = load_text(yaml.safe_dump(_spec_with(data)), str(tmp_path / "example.yaml"), base_dir=tmp_path)
    plan = compile_document(doc)
    plan.close()
    plan.close()  # closing twice is harmless


PARSERS = REGS.parsers.names()


@pytest.mark.parametrize("name", PARSERS)
@pytest.mark.parametrize("payload", [b"", b"\x00\xff\xfe garbage \xc3(", b'{"a": [1, 2', b'a,b\n1,2,3\n"x\n'])
def test_parsers_raise_only_engine_errors_on_hostile_input(name: str, payload: bytes) -> None:
    cls = REGS.parsers.get(name)
    options = build_options(cls.Options, cls.schema, {}, ("parser",), None)
    parser = cls(options, path="parser")
    item = Item("file:///x", "x")
    try:
        for chunk in parser.parse(io.BytesIO(payload), item, None):
            assert len(chunk.records) == len(chunk.positions)
    except EngineError:
        pass
    parser.close()
    parser.close()


def test_a_duplicate_plugin_name_names_both_modules() -> None:
    from engine.errors import PluginError
    from engine.registry import Registries

    class One:
        kind, name = "targets", "twin"

    class Two:
        kind, name = "targets", "twin"

    regs = Registries()
    regs.add_plugin(One, "builtin")
    with pytest.raises(PluginError) as info:
        regs.add_plugin(Two, "entry point twin (other-dist)")
    message = str(info.value)
    assert "twin" in message and "builtin" in message and "other-dist" in message


def test_builtins_are_listed_under_their_own_names() -> None:
    from engine import plugins

    for kind, named in plugins.BUILTINS.items():
        for name in named:
            assert REGS.kind(kind).get(name).name == name
