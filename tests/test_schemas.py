"""The committed schemas/ match what the code exports (make schemas), and serve an editor.

``check-jsonschema`` (what editors' YAML plugins and CI hooks run) is given
the committed ``schemas/engine.schema.json``: it must flag the mistakes people
make in mappings, nested ones included, and pass every connector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.cli.inspect import export_schemas

COMMITTED = Path(__file__).resolve().parent.parent / "schemas"
ROOT = COMMITTED.parent
SCHEMA = COMMITTED / "engine.schema.json"
CONNECTORS = sorted(
    p
    for p in (ROOT / "connectors").rglob("*.yaml")
    if not p.name.startswith("_") and "data" not in p.parts and "fixtures" not in p.parts
)
HEAD = """\
version: 1
name: spec
source: {type: local, path: in}
parser: {type: json}
target: {type: stdout}
plugins: [my_resolvers]
mapping:
  fields:
"""


def test_committed_schemas_do_not_drift(tmp_path) -> None:
    export_schemas(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.json")}
    committed = {p.relative_to(COMMITTED).as_posix(): p.read_text() for p in COMMITTED.rglob("*.json")}
    assert sorted(fresh) == sorted(committed), "run `make schemas` and commit schemas/"
    for name, text in fresh.items():
        assert committed[name] == text, f"schemas/{name} is out of date: run `make schemas`"


def test_composed_schema_is_valid_and_accepts_a_connector(tmp_path) -> None:
    export_schemas(tmp_path)
    schema = json.loads((tmp_path / "engine.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    spec = {
        "version": 1,
        "name": "x",
        "source": {"type": "local", "path": "in"},
        "parser": {"type": "csv"},
        "target": {"type": "file", "writer": "csv", "destination": {"type": "local", "path": "out"}},
    }
    assert list(Draft202012Validator(schema).iter_errors(spec)) == []
    spec["parser"]["delimeter"] = ";"
    errors = list(Draft202012Validator(schema).iter_errors(spec))
    assert errors and "delimeter" in str(errors[0])


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def spec(tmp_path: Path, fields: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(fields), "    "), encoding="utf-8")
    return path


def test_an_editor_flags_a_misspelt_resolver_and_option(tmp_path: Path) -> None:
    result = check_jsonschema(
        spec(
            tmp_path,
            """\
            qty: {source: q, resolver: integr}
            sku: {source: s, requird: true}
            """,
        )
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "$.mapping.fields.qty.resolver: 'integr' is not one of ['bool'" in result.stdout
    assert (
        "$.mapping.fields.sku: Additional properties are not allowed ('requird' was unexpected)"
        in result.stdout
    )


@pytest.mark.parametrize(
    "fields,where,message",
    [
        (
            "lines: {each: items, fields: {q: {source: qty, resolver: [trim, intt]}}}",
            "$.mapping.fields.lines.fields.q.resolver[1]",
            "'intt' is not one of",
        ),
        (
            "a: {fields: {b: {fields: {c: {source: x, requird: true}}}}}",
            "$.mapping.fields.a.fields.b.fields.c",
            "'requird' was unexpected",
        ),
        (
            "store: {source: s, resolver: {name: pad, args: {widht: 5}}}",
            "$.mapping.fields.store.resolver.args",
            "'widht' was unexpected",
        ),
        (
            "store: {source: s, resolver: {name: pad, args: five}}",
            "$.mapping.fields.store.resolver.args",
            "five",
        ),
        (
            "u: {source: s, resolver: {name: upper, args: {x: 1}}}",
            "$.mapping.fields.u.resolver.args",
            "empty",
        ),
        ("r: {source: s, required: 'yes'}", "$.mapping.fields.r.required", "'yes' is not of type 'boolean'"),
        (
            "n: {source: s, min_length: -1}",
            "$.mapping.fields.n.min_length",
            "-1 is less than the minimum of 0",
        ),
        ("lines: {each: items}", "$.mapping.fields.lines", "'fields' is a dependency of 'each'"),
        ("both: {source: a, value: 1}", "$.mapping.fields.both", "should not be valid"),
        (
            "nothing: {required: true}",
            "$.mapping.fields.nothing",
            "is not valid under any of the given schemas",
        ),
    ],
)
def test_an_editor_flags_mistakes_at_their_place(
    tmp_path: Path, fields: str, where: str, message: str
) -> None:
    result = check_jsonschema(spec(tmp_path, fields + "\n"))
    assert result.returncode == 1, result.stdout + result.stderr
    line = next((x for x in result.stdout.splitlines() if f"::{where}:" in x), None)
    assert line is not None, result.stdout
    assert message in line


def test_every_way_of_writing_a_field_is_accepted(tmp_path: Path) -> None:
    result = check_jsonschema(
        spec(
            tmp_path,
            """\
            skuRef: sku
            qty: {source: "Qty On Hand", required: true, resolver: int, min: 0, max: 1000}
            type: {value: LAST_ON_HAND}
            total: {expr: "sum(record.lines[*].qty)", when: "record.lines != null"}
            code: {source: code, default: X, resolver: [trim, upper, {name: pad, args: 5}], pattern: "[A-Z0-9]+"}
            fill: {source: f, resolver: {name: pad, args: {width: 8, char: "0"}}}
            obj: {source: o, resolver: {name: default, args: {any: [1, 2]}}}
            now: {resolver: {name: now}}
            shout: {source: s, resolver: custom.shout}
            mine: {source: s, resolver: {name: custom.pad, args: [1, 2]}}
            kind: {source: k, enum: [HD, CC], min_length: 1, max_length: 2, description: a note}
            none: {source: n, resolver: {name: upper, args: null}}
            attributes.batchNumber: {source: lot}
            customer: {source: c, fields: {name: name, email: {source: mail}}}
            lines:
              each: lines
              required: true
              fields:
                ref: {source: "@lineNo", required: true}
                orderRef: {source: $parent.order.@orderNo}
                deeper: {each: parts, fields: {p: {source: $parent.$parent.x}}}
            """,
        )
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_connector_passes() -> None:
    assert CONNECTORS
    result = check_jsonschema(*CONNECTORS)
    assert result.returncode == 0, result.stdout + result.stderr
