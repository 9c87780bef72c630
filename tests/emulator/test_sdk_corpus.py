"""The GraphQL documents of the Fluent SDK package against the emulator's schema.

The corpus (tests/emulator/data/sdk-graphql-corpus.yaml) is extracted from the installed SDK by
tests/emulator/sdk_corpus.py; docs/emulator.md states the coverage figure these tests hold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.emulator import sdk_corpus

CORPUS = sdk_corpus.load()
SCHEMA = sdk_corpus.default_schema()
DOC = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")


def test_the_corpus_comes_from_the_pinned_sdk_version():
    pinned = json.loads((sdk_corpus.SDK_PROJECT / "package.json").read_text(encoding="utf-8"))
    assert CORPUS["version"] == pinned["dependencies"][sdk_corpus.SDK_NAME]


def test_the_committed_corpus_is_what_the_installed_sdk_holds():
    assert sdk_corpus.PACKAGE.is_dir(), "the Fluent SDK is not installed: run `make test-sdk-setup`"
    fresh = sdk_corpus.as_corpus(sdk_corpus.extract(), sdk_corpus.installed_version())
    assert fresh == CORPUS, "the corpus is stale: run `.venv/bin/python tests/emulator/sdk_corpus.py refresh`"


def _from_code(document):
    return any(source.startswith("dist/") for source in document["sources"])


@pytest.mark.parametrize(
    "document", [d for d in CORPUS["documents"] if _from_code(d)], ids=lambda d: d["sources"][-1]
)
def test_every_document_the_sdk_code_sends_validates(document):
    assert sdk_corpus.problems(SCHEMA, document["text"]) == []


def test_the_connection_check_query_is_in_the_corpus():
    tester = [d for d in CORPUS["documents"] if any("fluent-connection-tester" in s for s in d["sources"])]
    assert len(tester) == 1
    assert "primaryRetailer" in tester[0]["text"] and "roles" in tester[0]["text"]


def test_the_coverage_docs_emulator_md_states_holds():
    stated = re.search(r"(\d+) of the (\d+) GraphQL documents", DOC)
    assert stated, "docs/emulator.md does not state the SDK corpus coverage"
    result = sdk_corpus.coverage(CORPUS, SCHEMA)
    assert result["found"] == int(stated.group(2))
    assert result["valid"] == int(stated.group(1)), sdk_corpus.report(CORPUS)


def test_an_unknown_field_is_counted_as_a_failure():
    corpus = {
        "documents": [{"id": "a", "text": "{ me { ref } }"}, {"id": "b", "text": "{ me { shoeSize } }"}]
    }
    result = sdk_corpus.coverage(corpus, SCHEMA)
    assert (result["found"], result["valid"]) == (2, 1)
    assert result["failing"] == {"b": ["Cannot query field 'shoeSize' on type 'User'."]}


def test_extraction_finds_fenced_quoted_and_template_documents(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "```graphql\nquery A { me { ref } }\nquery B { me { id } }\n```\n"
        "```typescript\nconst q = `query C($f: Int) { orders(first: $f) { edges { node { ref } } } }`;\n"
        "const t = `mutation ${name}($i: X!) { ${name}(input: $i) { id } }`;\n```\n"
        '```json\n{"query": "query D { me { username } }"}\n```\n'
        "```graphql\n{ id ref name }\n```\n",
        encoding="utf-8",
    )
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "a.js").write_text("client.graphql({ query: 'query { me { ref } }' }); // don't\n")
    extraction = sdk_corpus.extract(tmp_path)
    names = sorted(text.split("{")[0].strip() for text in extraction.documents)
    assert names == ["", "query A", "query B", "query C($f: Int)", "query D"]
    assert sum(extraction.templates.values()) == 1
    assert sum(extraction.field_lists.values()) == 1


def test_every_schema_type_states_its_provenance():
    unmarked = [
        name
        for name, type_ in SCHEMA.type_map.items()
        if not name.startswith("__")
        and name not in ("String", "Int", "Float", "Boolean", "ID", "DateTime", "Json")
        and not (type_.description or "").startswith(("[Fluent]", "[inferred]"))
    ]
    assert unmarked == []
