"""The generated code and the step-by-step interpreter are one semantics.

Hypothesis writes field definitions (sources, constants, expressions,
defaults, required, resolver chains that include failing ones, checks,
``when``, nested ``fields`` and ``each``) and records (missing keys, None,
empty and blank text, numbers, text numbers, nested objects and lists).
For every record the compiled mapping (the generated code, with its slow path
for rejects) and :func:`engine.mapping.explain.interpret` must give the same
output, byte for byte in ``repr``, or reject it naming the same fields with
the same messages. CSV-shaped records also go through the row form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.contracts import Chunk, Item, ResolverOptions
from engine.mapping.compiler import CompiledMapping, compile_fields
from engine.mapping.explain import MappingIssue, interpret
from engine.registry import default_registries
from engine.spec.loader import SpecDocument

CONTEXT = {"rid": "R1", "run_started": "2025-01-05T10:00:00Z", "run_id": "run-1"}
FILE = {"name": "in.json", "stem": "in"}
KEYS = ("a", "b", "c", "n")

# -- records -------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "5", " 7 ", "-0", "5.5", "1e3", "ten", "abc", "AB1", "true", "no", "x,y", "{}"]
    ),
    st.sampled_from([0, 5, -3, 12, 5.5, 2.0, True, False]),
    st.text(max_size=6),
)
TEXT = st.one_of(
    st.none(), st.sampled_from(["", " ", "5", " 7 ", "5.5", "ten", "abc", "1", "x"]), st.text(max_size=4)
)
LEAF = st.one_of(
    SCALARS,
    st.fixed_dictionaries({"#text": SCALARS, "@id": st.sampled_from(["1", "2"])}),
    st.lists(SCALARS, max_size=3),
)


def objects(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects over KEYS with keys left out at random (missing is not None)."""
    return st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS))


ITEM = st.one_of(objects(LEAF), SCALARS)
RECORD = st.builds(
    lambda top, o, items, dotted: {
        **top,
        **({"o": o} if o is not None else {}),
        **({"items": items} if items is not None else {}),
        **({"a.b": dotted} if dotted is not None else {}),
    },
    objects(LEAF),
    st.one_of(st.none(), objects(LEAF), SCALARS),
    st.one_of(
        st.none(), st.lists(ITEM, max_size=3), objects(LEAF), st.just({"edges": [{"node": {"a": "1"}}]})
    ),
    st.one_of(st.none(), SCALARS),
)
ROW = st.fixed_dictionaries({k: TEXT for k in KEYS})

# -- field definitions ---------------------------------------------------------

SOURCES = [
    "a",
    "b",
    "n",
    "missing",
    "a.b",
    "o.a",
    "o.#text",
    "a.#text",
    "items[0].a",
    "items[*].a",
    "items[a=1]",
    "[0]",
    "$context.rid",
    "$row",
    "$root.a",
    "$record.b",
    "$file.name",
]
ROW_SOURCES = ["a", "b", "c", "n", "missing", "a.#text", "a[*]", "$context.rid", "$row", "$root.b"]
INNER_SOURCES = ["a", "b", "n", "missing", "#text", "$parent.a", "$parent.n", "$root.b", "$record.a"]
RESOLVERS = [
    "trim",
    "upper",
    "int",
    "float",
    "bool",
    "json",
    "join",
    "hash",
    "now",
    "to_json",
    "sdk.parseInt",
    "sdk.boolean",
    "sdk.toString",
    {"name": "decimal", "args": {"scale": 2}},
    {"name": "pad", "args": {"width": 4, "char": "0"}},
    {"name": "split", "args": ","},
    {"name": "default", "args": "D"},
    {"name": "concat", "args": {"paths": ["b"], "sep": ":"}},
    {"name": "concat", "args": {"paths": ["b", "$context.rid"], "skip_missing": False}},
    {"name": "coalesce", "args": ["b", "c", "$root.n"]},
    {"name": "template", "args": "{a}-{b}"},
    {"name": "template", "args": {"template": "{}/{$row}", "missing": "empty"}},
    {"name": "map", "args": {"table": {"1": "one", "x": "ex", "5": 5}}},
    {"name": "regex_extract", "args": {"pattern": "(\\d+)", "on_no_match": "error"}},
    {"name": "substring", "args": {"start": 1}},
]
CHECKS = {
    "pattern": st.sampled_from(["[A-Z0-9]+", ".*", "\\d+"]),
    "enum": st.sampled_from([["1", "A", 1], ["abc", 5]]),
    "min": st.sampled_from([0, 1.5]),
    "max": st.sampled_from([10, 0]),
    "min_length": st.sampled_from([0, 1, 2]),
    "max_length": st.sampled_from([1, 3]),
}
WHENS = ["record.n != null", "record.a == '5'", "length(record.a) > `1`", "parent != null"]
EXPRS = ["record.a", "record.o.a", "`5`", "length(record.a)", "root.n", "row", "context.rid"]
CONSTANTS = st.one_of(SCALARS, st.just({"k": [1]}), st.just([1, "2"]))


@st.composite
def modifiers(draw: st.DrawFn, *, allow_resolvers: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["default"] = draw(CONSTANTS)
    if draw(st.booleans()):
        out["required"] = True
    if allow_resolvers and draw(st.booleans()):
        chain = draw(st.lists(st.sampled_from(RESOLVERS), min_size=1, max_size=3))
        out["resolver"] = chain if len(chain) > 1 or draw(st.booleans()) else chain[0]
    if allow_resolvers:
        for name in draw(st.lists(st.sampled_from(sorted(CHECKS)), max_size=2, unique=True)):
            out[name] = draw(CHECKS[name])
    if draw(st.integers(0, 4)) == 0:
        out["when"] = draw(st.sampled_from(WHENS))
    return out


@st.composite
def scalar_field(draw: st.DrawFn, sources: list[str]) -> Any:
    kind = draw(st.sampled_from(["source", "source", "value", "expr", "computed", "bare"]))
    if kind == "bare":
        return draw(st.sampled_from(sources))
    field = draw(modifiers())
    if kind == "source":
        field["source"] = draw(st.sampled_from(sources))
    elif kind == "value":
        field["value"] = draw(CONSTANTS)
    elif kind == "expr":
        field["expr"] = draw(st.sampled_from(EXPRS))
    elif "resolver" not in field and "default" not in field:
        field["resolver"] = draw(st.sampled_from(RESOLVERS))
    return field


@st.composite
def block_field(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    field = draw(modifiers(allow_resolvers=False))
    field.pop("default", None)
    kind = draw(st.sampled_from(["each", "fields", "fields-with-source"]))
    field["fields"] = draw(fields_block(INNER_SOURCES if kind != "fields" else SOURCES, depth + 1))
    if kind == "each":
        field["each"] = draw(st.sampled_from(["items", "o", "a", "items[*].a"]))
    elif kind == "fields-with-source":
        field["source"] = draw(st.sampled_from(["o", "a", "items[0]"]))
    return field


@st.composite
def fields_block(draw: st.DrawFn, sources: list[str], depth: int = 0) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    out: dict[str, Any] = {}
    for i in range(count):
        target = draw(st.sampled_from([f"t{i}", f"g.t{i}", f"g.h.t{i}"]))
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            out[target] = draw(block_field(depth))
        else:
            out[target] = draw(scalar_field(sources))
    return out


def compiled(fields: dict[str, Any]) -> CompiledMapping | None:
    doc = SpecDocument("<generated>", {"mapping": {"fields": fields}}, "", Path("."))
    mapping, diagnostics = compile_fields(
        doc, fields, ("mapping", "fields"), default_registries().resolvers, ResolverOptions()
    )
    if mapping is None:
        print([d.render() for d in diagnostics])
    return mapping


def described(issues: list[MappingIssue]) -> list[tuple[Any, ...]]:
    return [(i.field, i.message, i.source, i.resolver, repr(i.value)) for i in issues]


# -- the property --------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=fields_block(SOURCES), records=st.lists(RECORD, min_size=1, max_size=4))
def test_generated_code_and_interpreter_agree(fields: dict[str, Any], records: list[dict[str, Any]]) -> None:
    mapping = compiled(fields)
    assume(mapping is not None)
    assert mapping is not None
    for n, record in enumerate(records, 1):
        got, got_issues = mapping.map_record(record, CONTEXT, row=n, file=FILE)
        want, want_issues = interpret(mapping.fields, record, row=n, context=CONTEXT, file=FILE)
        assert described(got_issues) == described(want_issues), (fields, record)
        assert repr(got) == repr(want), (fields, record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=fields_block(ROW_SOURCES), rows=st.lists(ROW, min_size=1, max_size=4))
def test_csv_rows_map_as_their_dicts_do(fields: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    mapping = compiled(fields)
    assume(mapping is not None)
    assert mapping is not None
    columns = KEYS
    chunk = Chunk(
        Item("file:///in.csv", "in.csv"),
        [[r[c] for c in columns] for r in rows],
        list(range(1, len(rows) + 1)),
        columns,
        text=True,
    )
    out, index, rejects = mapping.map_chunk(chunk, CONTEXT)
    file = chunk.item.file_vars()
    got: list[Any] = [None] * len(rows)
    for i, o in zip(index, out, strict=True):
        got[i] = (o, [])
    for i, issues in rejects:
        got[i] = (None, described(issues))
    for i, row in enumerate(rows):
        view = {c: row[c] for c in columns}
        want, want_issues = interpret(mapping.fields, view, row=i + 1, context=CONTEXT, file=file)
        assert got[i][1] == described(want_issues), (fields, row)
        assert repr(got[i][0]) == repr(want), (fields, row)
