"""The GraphQL documents of the Fluent SDK package, and how many the emulator's schema accepts.

The public SDK (``@fluentcommerce/fc-connect-sdk``, installed by ``make test-sdk-setup`` into
``tests/emulator/sdk/node_modules``) ships GraphQL in its compiled code (``dist/``), its CLI
(``bin/``), its example ``.graphql`` files and about 450 documentation pages. This module finds
every executable document in the package and validates each against ``engine/fluent/schema.graphql``
with graphql-core; the documents (never the SDK's JS code) are committed as test data with the SDK
version they came from, so the suite measures coverage offline.

What counts as a document: a GraphQL text that parses, in a ``graphql``/``gql`` fence or a
``.graphql`` file, or as a string literal (quoted, template or JSON) in code, in a code fence of
any other language or in a JSON file. A text holding several operations yields one document per
operation (with the fragments it uses); documents are de-duplicated by their printed form, so
``dist/esm`` and ``dist/cjs`` copies and docs that repeat a query count once. Not documents, and
only counted: string templates whose GraphQL is assembled by ``${...}`` interpolation (the SDK's
mutation builder, which ``test_sdk_services`` exercises for real), elided or broken snippets
(``{ ... }``), type-system (SDL) excerpts and bare field lists (``{ id ref name }``).

    .venv/bin/python tests/emulator/sdk_corpus.py refresh   # re-extract from the installed SDK
    .venv/bin/python tests/emulator/sdk_corpus.py report    # coverage of the committed corpus
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from graphql import GraphQLError, GraphQLSchema, parse, print_ast, validate
from graphql.language import DocumentNode, FieldNode, FragmentDefinitionNode, OperationDefinitionNode, visit
from graphql.language.visitor import Visitor

HERE = Path(__file__).resolve().parent
SDK_PROJECT = HERE / "sdk"
SDK_NAME = "@fluentcommerce/fc-connect-sdk"
PACKAGE = SDK_PROJECT / "node_modules" / SDK_NAME
CORPUS = HERE / "data" / "sdk-graphql-corpus.yaml"

GRAPHQL_FILES = (".graphql", ".gql")
CODE_FILES = (".js", ".cjs", ".mjs", ".ts")
GRAPHQL_FENCES = ("graphql", "gql")
# A string is worth parsing when it starts like an executable document.
LOOKS_LIKE_GRAPHQL = re.compile(r"^\s*(?:(?:query|mutation|subscription|fragment)\b|\{\s*[_A-Za-z])")
FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})\s*([^\s`]*)")
JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
WRONG_MARKERS = ("❌", "WRONG", "Wrong:", "wrong:", "INCORRECT", "Incorrect", "Don't", "DON'T", "Bad:", "BAD")


@dataclass
class Found:
    """One occurrence of GraphQL-looking text: where it was and the text around it."""

    path: str
    text: str
    context: str = ""  # a few lines before it (a "❌ wrong" label in the docs, say)


@dataclass
class Extraction:
    """Everything the package holds: unique documents and the counted non-documents."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # printed text -> entry
    templates: Counter[str] = field(default_factory=Counter)  # path -> interpolated strings
    unparsed: Counter[str] = field(default_factory=Counter)  # path -> elided or broken snippets
    type_system: Counter[str] = field(default_factory=Counter)  # path -> SDL excerpts
    field_lists: Counter[str] = field(default_factory=Counter)  # path -> "{ id ref name }" lists


# --- finding text -----------------------------------------------------------------------------


def _template(text: str, start: int) -> tuple[str, int]:
    """A template literal's raw content (``${...}`` kept verbatim) and the index after it."""
    out, i, n = [], start, len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            out.append(_unescape(text[i : i + 2]))
            i += 2
        elif char == "`":
            return "".join(out), i + 1
        elif text.startswith("${", i):
            end = _interpolation_end(text, i + 2)
            out.append(text[i:end])
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out), n


def _interpolation_end(text: str, i: int) -> int:
    depth, n = 1, len(text)
    while i < n and depth:
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "`":
            i = _template(text, i + 1)[1] - 1
        elif char in "'\"":
            i = _quoted(text, i + 1, char)[1] - 1
        i += 1
    return i


def _quoted(text: str, start: int, quote: str) -> tuple[str, int]:
    """A one-line quoted string's decoded content and the index after it."""
    out, i, n = [], start, len(text)
    while i < n and text[i] != "\n":
        if text[i] == "\\":
            out.append(_unescape(text[i : i + 2]))
            i += 2
            continue
        if text[i] == quote:
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def _unescape(pair: str) -> str:
    return JS_ESCAPES.get(pair[1:], pair[1:]) if len(pair) == 2 else pair


def string_literals(code: str, depth: int = 0) -> Iterator[str]:
    """The string literals of JS/TS (or JSON, shell) text, comments skipped.

    A string that does not look like GraphQL but holds quotes is scanned again (a shell
    ``-d '{"query": "..."}'`` holds the query one level down).
    """
    i, n = 0, len(code)
    while i < n:
        char = code[i]
        if code.startswith("//", i) and (i == 0 or code[i - 1] != ":"):
            i = code.find("\n", i)
            i = n if i < 0 else i
            continue
        if code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if char == "`":
            value, i = _template(code, i + 1)
        elif char in "'\"":
            value, i = _quoted(code, i + 1, char)
        else:
            i += 1
            continue
        if LOOKS_LIKE_GRAPHQL.search(value):
            yield value
        elif depth < 2 and ("query" in value or "mutation" in value) and re.search(r"['\"`]", value):
            yield from string_literals(value, depth + 1)


def fences(markdown: str) -> Iterator[tuple[str, str, str]]:
    """``(language, body, context)`` of each fenced code block (CommonMark fences, any indent)."""
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE_OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        marker, language = opened.group(1), opened.group(2).lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
                break
            body.append(lines[j])
            j += 1
        yield language, "\n".join(body), "\n".join(lines[max(0, i - 3) : i])
        i = j + 1


def occurrences(package: Path) -> Iterator[tuple[str, Found]]:
    """Every GraphQL-looking text of the package, as ``("graphql" | "string", found)``."""
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or "node_modules" in rel.parts:
            continue
        name = rel.as_posix()
        if path.suffix in GRAPHQL_FILES:
            yield "graphql", Found(name, path.read_text(encoding="utf-8"))
        elif path.suffix == ".md":
            for language, body, context in fences(path.read_text(encoding="utf-8")):
                if language in GRAPHQL_FENCES:
                    yield "graphql", Found(name, body, context + "\n" + body)
                else:
                    for value in string_literals(body):
                        yield "string", Found(name, value, _context_of(body, value) or context)
        elif path.suffix in CODE_FILES:
            for value in string_literals(path.read_text(encoding="utf-8")):
                yield "string", Found(name, value)
        elif path.suffix == ".json":
            for value in _json_strings(json.loads(path.read_text(encoding="utf-8"))):
                yield "string", Found(name, value)


def _context_of(body: str, value: str) -> str:
    head = value.strip().splitlines()[0] if value.strip() else ""
    at = body.find(head) if head else -1
    return body[max(0, at - 300) : at] + value if at >= 0 else value


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if LOOKS_LIKE_GRAPHQL.search(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


# --- from text to documents -------------------------------------------------------------------


def _fragments_used(node: Any) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: Any, *_: Any) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names


def split_operations(document: DocumentNode) -> list[DocumentNode]:
    """One document per operation, each with the fragments it uses (transitively)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        return [DocumentNode(definitions=(fragment,)) for fragment in fragments.values()]
    result = []
    for operation in operations:
        needed: list[Any] = []
        pending = _fragments_used(operation)
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen or name not in fragments:
                continue
            seen.add(name)
            needed.append(fragments[name])
            pending |= _fragments_used(fragments[name])
        result.append(DocumentNode(definitions=(operation, *sorted(needed, key=lambda f: f.name.value))))
    return result


def _chunks(text: str) -> list[str]:
    """A fence that does not parse whole may hold several documents with prose between them."""
    starts = [m.start() for m in re.finditer(r"^(?:query|mutation|subscription|fragment)\b", text, re.M)]
    if not starts:
        return []
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _parse(text: str) -> DocumentNode | None:
    try:
        return parse(text)
    except GraphQLError:
        return None


def extract(package: Path = PACKAGE) -> Extraction:
    """Find, parse, split and de-duplicate every GraphQL document in the installed package."""
    result = Extraction()
    for kind, found in occurrences(package):
        if "${" in found.text and _parse(found.text) is None:
            result.templates[found.path] += 1
            continue
        document = _parse(found.text)
        parts = [document] if document is not None else [_parse(c) for c in _chunks(found.text)]
        if not [p for p in parts if p is not None]:
            if kind == "graphql" and not re.search(
                r"^\s*(type|input|enum|scalar|interface|schema)\b", found.text, re.M
            ):
                result.unparsed[found.path] += 1
            elif kind == "graphql":
                result.type_system[found.path] += 1
            else:
                result.unparsed[found.path] += 1
            continue
        for part in parts:
            if part is None:
                continue
            executable = [
                d for d in part.definitions if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
            ]
            if len(executable) < len(part.definitions):
                result.type_system[found.path] += 1
            if executable:
                _add(result, split_operations(DocumentNode(definitions=tuple(executable))), found)
    return result


def is_field_list(document: DocumentNode) -> bool:
    """``{ id ref name }``: a list of leaf field names the docs show, not a query anyone sends."""
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode) or operation.name or operation.variable_definitions:
        return False
    return all(
        isinstance(s, FieldNode)
        and s.selection_set is None
        and not s.arguments
        and not s.name.value.startswith("__")
        for s in operation.selection_set.selections
    )


def _add(result: Extraction, documents: list[DocumentNode], found: Found) -> None:
    marked = any(marker in found.context for marker in WRONG_MARKERS)
    for document in documents:
        if is_field_list(document):
            result.field_lists[found.path] += 1
            continue
        text = print_ast(document)
        entry = result.documents.setdefault(text, {"text": text, "sources": [], "marked_wrong_in": []})
        if found.path not in entry["sources"]:
            entry["sources"].append(found.path)
        if marked and found.path not in entry["marked_wrong_in"]:
            entry["marked_wrong_in"].append(found.path)


# --- the committed corpus ---------------------------------------------------------------------


def installed_version(package: Path = PACKAGE) -> str:
    """The version of the SDK in the scratch install (FileNotFoundError when not installed)."""
    return str(json.loads((package / "package.json").read_text(encoding="utf-8"))["version"])


def as_corpus(extraction: Extraction, version: str) -> dict[str, Any]:
    """The committed form: documents sorted by text, each with its sources, and the counts."""
    documents = []
    for index, entry in enumerate(sorted(extraction.documents.values(), key=lambda e: e["text"]), start=1):
        item = {"id": f"doc-{index:03d}", "sources": sorted(entry["sources"])}
        if entry["marked_wrong_in"]:
            item["marked_wrong_in"] = sorted(entry["marked_wrong_in"])
        item["text"] = entry["text"]
        documents.append(item)
    return {
        "sdk": SDK_NAME,
        "version": version,
        "not_documents": {
            "templates": dict(sorted(extraction.templates.items())),
            "unparsed_snippets": dict(sorted(extraction.unparsed.items())),
            "type_system_excerpts": dict(sorted(extraction.type_system.items())),
            "field_lists": dict(sorted(extraction.field_lists.items())),
        },
        "documents": documents,
    }


class _Dumper(yaml.SafeDumper):
    pass


def _block_strings(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _block_strings)


def write(corpus: dict[str, Any], path: Path = CORPUS) -> None:
    """Write the corpus as YAML with each document as a readable block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# GraphQL documents found in {corpus['sdk']} {corpus['version']} (never its code).\n"
        "# Generated by tests/emulator/sdk_corpus.py refresh; do not edit by hand.\n"
    )
    text = yaml.dump(corpus, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    path.write_text(header + text, encoding="utf-8")


def load(path: Path = CORPUS) -> dict[str, Any]:
    """The committed corpus."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


# --- validation -------------------------------------------------------------------------------


def default_schema() -> GraphQLSchema:
    """The emulator's executable schema with every switch at its default."""
    from engine.emulator.graphql_schema import schema_for
    from engine.emulator.settings import Settings

    return schema_for(Settings(None, {}))


def problems(schema: GraphQLSchema, text: str) -> list[str]:
    """graphql-core's validation messages for one document (empty when it validates)."""
    return [error.message for error in validate(schema, parse(text))]


def coverage(corpus: dict[str, Any], schema: GraphQLSchema | None = None) -> dict[str, Any]:
    """Documents found, documents that validate, and the failures grouped by message."""
    schema = schema or default_schema()
    failing = {}
    by_message: Counter[str] = Counter()
    for document in corpus["documents"]:
        found = problems(schema, document["text"])
        if found:
            failing[document["id"]] = found
            by_message.update(set(found))
    total = len(corpus["documents"])
    return {
        "found": total,
        "valid": total - len(failing),
        "percent": round(100 * (total - len(failing)) / total, 1) if total else 0.0,
        "failing": failing,
        "by_message": dict(by_message.most_common()),
    }


def report(corpus: dict[str, Any]) -> str:
    """A readable coverage report of the corpus against the emulator's schema."""
    result = coverage(corpus)
    documents = {d["id"]: d for d in corpus["documents"]}
    lines = [
        f"{corpus['sdk']} {corpus['version']}: {result['found']} documents, {result['valid']} validate "
        f"({result['percent']} %)",
    ]
    for kind, counts in corpus["not_documents"].items():
        lines.append(f"  not documents, {kind}: {sum(counts.values())} in {len(counts)} files")
    for doc_id, messages in result["failing"].items():
        document = documents[doc_id]
        wrong = " [marked wrong by the SDK docs]" if document.get("marked_wrong_in") else ""
        lines.append(f"{doc_id}{wrong} ({document['sources'][0]}):")
        lines.extend(f"    {message}" for message in messages)
    lines.append("failures by message:")
    lines.extend(f"  {count:3d}  {message}" for message, count in result["by_message"].items())
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``refresh`` re-extracts the committed corpus from the installed SDK; ``report`` prints coverage."""
    command = argv[0] if argv else "report"
    if command == "refresh":
        corpus = as_corpus(extract(), installed_version())
        write(corpus)
        print(f"wrote {CORPUS} ({len(corpus['documents'])} documents)")
    elif command != "report":
        print("usage: sdk_corpus.py [refresh|report]", file=sys.stderr)
        return 2
    print(report(load()))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    raise SystemExit(main(sys.argv[1:]))
