"""JSON, lists, fallbacks across paths, templates and lookup tables."""

import datetime as dt
from decimal import Decimal

import pytest

from engine.contracts import ResolverOptions
from engine.errors import ConfigError, DataError
from engine.mapping.paths import PathSyntaxError

RECORD = {
    "sku": "S1",
    "location": "L1",
    "qty": 5,
    "blank": "  ",
    "empty": "",
    "item": {"name": "Widget", "tags": ["a", "b"]},
    "Qty On Hand": "7",
    "lines": [{"sku": "A"}, {"sku": "B"}],
}
CONTEXT = {"run_id": "run-1", "run_started": "2025-01-05T10:00:00Z", "retailer": 34}


@pytest.mark.parametrize(
    "value,expected",
    [
        ('{"a": [1, 2.5, null, "é"]}', {"a": [1, 2.5, None, "é"]}),
        ("1.0", 1.0),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        (' "x" ', "x"),
        ("[[1, [2]], []]", [[1, [2]], []]),
        ({"already": 1}, {"already": 1}),
        (["x"], ["x"]),
        ("", None),
        ("  ", None),
        (
            "{bad",
            DataError(
                "'{bad' is not valid JSON (expecting property name enclosed in double quotes at character 2)"
            ),
        ),
        ("[1,", DataError("expecting value at character 4")),
        ('{"a": NaN}', DataError("(NaN is not JSON)")),
        ("Infinity", DataError("(Infinity is not JSON)")),
        ("'x'", DataError("is not valid JSON")),
    ],
)
def test_json(run, value, expected):
    run("json", None, value, expected)


BOMB = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]><r>&a;&a;</r>'


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (
            None,
            '<Order no="1"><Line sku="A"><Qty>02</Qty></Line></Order>',
            {"@no": "1", "Line": {"@sku": "A", "Qty": "02"}},
        ),
        (None, "<a><b>1</b><b>2</b></a>", {"b": ["1", "2"]}),
        ({"force_list": ["b"]}, "<a><b>1</b></a>", {"b": ["1"]}),
        (None, "<a>text</a>", {"#text": "text"}),  # a record is always an object, as in the xml parser
        (None, "<a/>", {}),
        (None, {"already": 1}, {"already": 1}),
        (None, "", None),
        (None, "  ", None),
        (None, "<a><b></a>", DataError("is not an XML document (the field's XML:1:11: invalid XML")),
        (None, "not xml", DataError("'not xml' is not an XML document")),
        (None, BOMB, DataError("documents with entity declarations are refused")),
        (None, '<!DOCTYPE r SYSTEM "file:///etc/passwd"><r>x</r>', {"#text": "x"}),  # nothing is fetched
    ],
)
def test_xml(run, args, value, expected):
    run("xml", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, {"b": 1, "a": [1.5, None, "é", True]}, '{"b":1,"a":[1.5,null,"é",true]}'),
        (None, "x", '"x"'),
        (None, 5, "5"),
        (None, [[1, [2]], []], "[[1,[2]],[]]"),
        (None, {"d": dt.date(2025, 1, 5), "p": Decimal("1.50")}, '{"d":"2025-01-05","p":"1.50"}'),
        ({"sort_keys": True}, {"b": 1, "a": 2}, '{"a":2,"b":1}'),
        (None, [float("nan")], DataError("cannot be written as JSON: NaN and infinities have no JSON form")),
        (None, {1, 2}, DataError("cannot be written as JSON: set has no JSON form")),
    ],
)
def test_to_json(run, args, value, expected):
    run("to_json", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "a, b ,c", ["a", "b", "c"]),
        (None, "a,,b", ["a", "", "b"]),
        (None, "single", ["single"]),
        (None, 5, ["5"]),
        (None, "", None),
        (None, " ", None),
        ("|", "a|b|c", ["a", "b", "c"]),
        ({"sep": " | ", "trim": False}, "a | b ", ["a", "b "]),
        ({"skip_empty": True}, "a,,b,", ["a", "b"]),
        ({"index": 0}, "a,b", "a"),
        ({"index": -1}, "a,b", "b"),
        ({"index": 5}, "a,b", None),
        ({"sep": "🙂"}, "x🙂y", ["x", "y"]),
        (None, ["a,b"], DataError("expected text, found a list")),
        (None, {"a": 1}, DataError("expected text, found an object")),
    ],
)
def test_split(run, args, value, expected):
    run("split", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, ["a", "b"], "a,b"),
        (None, ["a", 1, 2.5, True, None, "é"], "a,1,2.5,true,é"),
        (None, [["a", ["b"]], [], "c"], "a,b,c"),  # nested lists are flattened
        (None, [], ""),
        (None, "x", "x"),
        (None, 5, "5"),
        (" ", ["a", "b"], "a b"),
        ({"sep": ""}, ["a", "b"], "ab"),
        (None, [{"a": 1}], DataError("expected text, found an object")),
    ],
)
def test_join(run, args, value, expected):
    run("join", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ({"paths": ["location"], "sep": ":"}, "S1", "S1:L1"),
        ({"paths": ["location"], "sep": ":"}, None, "L1"),
        ({"paths": ["location", "missing", "qty"], "sep": "-"}, None, "L1-5"),
        ({"paths": ["item.name", "lines[1].sku"], "sep": "/"}, "x", "x/Widget/B"),
        ({"paths": ["$context.retailer"], "sep": "@"}, "S1", "S1@34"),
        ({"paths": ["Qty On Hand"]}, "q", "q7"),
        (["missing", "blank"], None, None),
        (
            {"paths": ["missing"], "skip_missing": False},
            "a",
            DataError("nothing at 'missing' to concatenate"),
        ),
        ({"paths": ["item.tags"]}, "x", DataError("expected text, found a list")),
    ],
)
def test_concat(run, args, value, expected):
    run("concat", args, value, expected, record=RECORD, context=CONTEXT)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ("{sku}:{location}", None, "S1:L1"),
        ("{ sku }-{qty}", None, "S1-5"),
        ("{{{sku}}}", None, "{S1}"),
        ("}}{{", None, "}{"),
        ("{}-{sku}", "V", "V-S1"),
        ("{item.name}/{lines[0].sku}/{item.tags[-1]}", None, "Widget/A/b"),
        ("{$context.run_id}", None, "run-1"),
        ('{"Qty On Hand"}', None, "7"),
        ("static", None, "static"),
        ("", None, ""),
        ("{sku}:{missing}", None, DataError("template field {missing} is missing")),
        ("{sku}:{blank}", None, DataError("template field {blank} is missing")),
        ("{}", None, DataError("template field {} (the value itself) is missing")),
        ({"template": "{sku}:{missing}", "missing": "empty"}, None, "S1:"),
        ("{item.tags}", None, DataError("expected text, found a list")),
    ],
)
def test_template(run, args, value, expected):
    run("template", args, value, expected, record=RECORD, context=CONTEXT)


@pytest.mark.parametrize(
    "template,error,message",
    [
        ("{sku", ConfigError, "'{' at character 1 of template '{sku' is never closed"),
        ("a}b", ConfigError, "single '}' at character 2"),
        ("{a..b}", PathSyntaxError, "malformed path 'a..b'"),
        ("{$nope}", PathSyntaxError, "unknown variable '$nope'"),
    ],
)
def test_template_syntax_errors(resolve, template, error, message):
    with pytest.raises(error, match=message.replace("{", r"\{").replace("$", r"\$")):
        resolve("template", template)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (["location"], "given", "given"),
        (["location"], None, "L1"),
        (["empty", "blank", "missing", "location"], "", "L1"),
        (["empty", "blank", "missing", "location"], "   ", "L1"),
        (["missing", "item.name"], None, "Widget"),
        (["qty"], None, 5),
        (["$context.retailer"], None, 34),
        (["missing"], None, None),
        (["location"], 0, 0),  # zero is a value, not a missing one
        (["location"], False, False),
    ],
)
def test_coalesce(run, args, value, expected):
    run("coalesce", args, value, expected, record=RECORD, context=CONTEXT)


def test_coalesce_path_errors_are_found_at_compile_time(resolve):
    with pytest.raises(PathSyntaxError, match="malformed path"):
        resolve("coalesce", ["ok", "bad["])


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ("N/A", None, "N/A"),
        ("N/A", "", "N/A"),
        ("N/A", "  ", "N/A"),
        ("N/A", "x", "x"),
        ("N/A", 0, 0),
        (0, None, 0),
        ({"value": {"a": 1}}, None, {"a": 1}),
        ({"a": 1}, None, {"a": 1}),  # not argument names, so the whole mapping is the value
        ({"value": None}, "", None),
    ],
)
def test_default(run, args, value, expected):
    run("default", args, value, expected)


STATUS = {"A": "ACTIVE", "I": "INACTIVE", "1": "one", True: "yes"}


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ({"table": STATUS}, "A", "ACTIVE"),
        ({"table": STATUS}, 1, "one"),  # keys compare as text
        ({"table": STATUS}, True, "yes"),
        ({"table": STATUS}, "a", DataError("'a' is not in the lookup table (known: 'A', 'I', '1', 'true')")),
        ({"table": STATUS}, "", DataError("'' is not in the lookup table")),
        ({"table": STATUS, "ignore_case": True}, "a", "ACTIVE"),
        ({"table": STATUS, "default": "OTHER"}, "Z", "OTHER"),
        ({"table": STATUS, "default": None}, "Z", None),
        ({"table": {"x": {"nested": [1]}}}, "x", {"nested": [1]}),
        ({"table": {str(n): n for n in range(10)}}, "z", DataError("(known: '0', '1', '2', '3', '4' ...)")),
        ({"table": {"A": 1}}, ["A"], DataError("expected text, found a list")),
    ],
)
def test_map(run, args, value, expected):
    run("map", args, value, expected)


@pytest.fixture
def lookup_dir(tmp_path):
    (tmp_path / "codes.csv").write_text(
        "\ufeffcode,name,region\nA,Alpha,EU\nB,Beta,US\nA,Alpha,EU\nÉ,Épsilon,EU\n", encoding="utf-8"
    )
    (tmp_path / "clash.csv").write_text("code,name\nA,Alpha\nB,Beta\nA,Other\n", encoding="utf-8")
    (tmp_path / "narrow.csv").write_text("code\nA\n", encoding="utf-8")
    return ResolverOptions(base_dir=str(tmp_path))


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ({"file": "codes.csv"}, "A", "Alpha"),
        ({"file": "codes.csv"}, "É", "Épsilon"),
        ({"file": "codes.csv", "value": "region"}, "B", "US"),
        ({"file": "codes.csv", "key": "name", "value": "code"}, "Beta", "B"),
        ({"file": "codes.csv"}, "Z", DataError("'Z' is not in the lookup table (known: 'A', 'B', 'É')")),
        ({"file": "codes.csv", "default": "?"}, "Z", "?"),
    ],
)
def test_map_from_csv(run, lookup_dir, args, value, expected):
    run("map", args, value, expected, options=lookup_dir)


@pytest.mark.parametrize(
    "args,message",
    [
        ({"file": "missing.csv"}, "cannot read lookup file"),
        ({"file": "clash.csv"}, "key 'A' has two values (rows 2 and 4)"),
        ({"file": "narrow.csv"}, "needs a header with at least two columns"),
        ({"file": "codes.csv", "value": "price"}, "has no column 'price' (it has 'code', 'name', 'region')"),
        ({"table": {"A": 1}, "key": "code"}, "'key' and 'value' name columns of a lookup file"),
    ],
)
def test_map_file_problems_are_config_errors(resolve, lookup_dir, args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve("map", args, lookup_dir)
