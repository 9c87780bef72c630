"""Rules every resolver keeps: unique names, valid argument schemas with
defaults, a summary, and a docstring example that is valid YAML."""

import importlib
import inspect

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.contracts import Resolver

MODULES = ["sdk", "strings", "numbers", "dates", "booleans", "structured", "identifiers"]
RESOLVERS = [
    (m, r) for m in MODULES for r in importlib.import_module(f"engine.mapping.resolvers.{m}").RESOLVERS
]
IDS = [r.name for _, r in RESOLVERS]

SDK_NAMES = {
    "sdk.uppercase",
    "sdk.lowercase",
    "sdk.trim",
    "sdk.toString",
    "sdk.parseInt",
    "sdk.parseFloat",
    "sdk.number",
    "sdk.formatDate",
    "sdk.formatDateShort",
    "sdk.parseDate",
    "sdk.boolean",
    "sdk.parseJson",
    "sdk.toJson",
    "sdk.identity",
    "sdk.coalesce",
    "sdk.default",
}
OUR_NAMES = {
    "upper",
    "lower",
    "trim",
    "int",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "json",
    "xml",
    "to_json",
    "coalesce",
    "default",
    "map",
    "template",
    "replace",
    "regex_extract",
    "split",
    "join",
    "concat",
    "substring",
    "pad",
    "round",
    "hash",
    "uuid5",
    "now",
}


def test_names_are_unique_across_modules():
    seen: dict[str, str] = {}
    for module, resolver in RESOLVERS:
        assert resolver.name not in seen, f"{resolver.name} is in {seen[resolver.name]} and {module}"
        seen[resolver.name] = module


def test_the_library_is_complete():
    assert {r.name for _, r in RESOLVERS} == SDK_NAMES | OUR_NAMES


@pytest.mark.parametrize("module,resolver", RESOLVERS, ids=IDS)
def test_resolver_declaration(module, resolver: Resolver):
    assert isinstance(resolver, Resolver)
    assert resolver.summary and len(resolver.summary) <= 100
    params = inspect.signature(resolver.make).parameters
    if resolver.args is None:
        assert set(params) <= {"options"}, "a resolver without args must not take arguments"
        assert resolver.shorthand is None
        return
    schema = resolver.args
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert properties
    if resolver.shorthand is not None:
        assert resolver.shorthand in properties
    required = set(schema.get("required", []))
    for name, prop in properties.items():
        # every optional argument has its default in the schema, and only there
        alternatives = {k for branch in schema.get("oneOf", []) for k in branch.get("required", [])}
        if name not in required and name not in alternatives and name != "default":
            assert "default" in prop, f"{resolver.name}.{name} has no default"
            Draft202012Validator(prop).validate(prop["default"])
        accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        assert name in params or accepts_kwargs, f"make() of {resolver.name} does not take {name}"


@pytest.mark.parametrize("module", MODULES)
def test_module_docstring_example_is_valid_yaml(resolve, module):
    doc = importlib.import_module(f"engine.mapping.resolvers.{module}").__doc__
    assert doc and doc.strip()
    if "Example::" not in doc:
        assert module == "sdk"
        return
    example = doc.split("Example::", 1)[1]
    parsed = yaml.safe_load(inspect.cleandoc(example))
    assert isinstance(parsed["fields"], dict)
    names = {r.name for _, r in RESOLVERS}
    for field in parsed["fields"].values():
        step = field.get("resolver")
        for item in step if isinstance(step, list) else [step] if step else []:
            name, args = (item, None) if isinstance(item, str) else (item["name"], item.get("args"))
            assert name in names
            resolve(name, args)  # the arguments are valid and compile
