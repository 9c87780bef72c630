"""engine init drafts a spec that validates and passes its own test as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


@pytest.mark.parametrize(
    "name,content",
    [
        (
            "stock.csv",
            "Location Code,SKU,Qty On Hand,Updated,Price\nLOC-1,00123,5,2026-01-05T10:00:00Z,1.50\n"
            "LOC-2,00124,7,2026-01-06T11:00:00Z,2.00\n",
        ),
        (
            "orders.json",
            json.dumps(
                [
                    {"ref": "O1", "customer": {"name": "Ann"}, "lines": [{"sku": "A", "qty": "2"}]},
                    {"ref": "O2", "customer": {"name": "Bo"}, "lines": [{"sku": "B", "qty": "1"}]},
                ]
            ),
        ),
        ("events.jsonl", '{"id": "e1", "n": "3"}\n{"id": "e2", "n": "4"}\n'),
        (
            "orders.xml",
            '<Orders><Order no="O1"><Lines><Line sku="A"><Qty>2</Qty></Line><Line sku="B"><Qty>1</Qty>'
            '</Line></Lines></Order><Order no="O2"><Lines><Line sku="C"><Qty>3</Qty></Line></Lines></Order>'
            "</Orders>",
        ),
    ],
)
def test_a_drafted_spec_validates_and_its_test_passes(tmp_path: Path, cli, name: str, content: str) -> None:
    sample = tmp_path / "samples" / name
    sample.parent.mkdir()
    sample.write_text(content)
    spec = tmp_path / "draft.yaml"
    result = cli("init", "--from", str(sample), "-o", str(spec))
    assert result.exit_code == 0, result.output
    assert cli("validate", str(spec)).exit_code == 0
    assert cli("test", str(spec)).exit_code == 0
    data = yaml.safe_load(spec.read_text())
    assert data["source"]["path"] == "samples"


def test_guessed_resolvers_keep_leading_zeros_as_text(tmp_path: Path, cli) -> None:
    sample = tmp_path / "s.csv"
    sample.write_text("gtin,qty,when\n01234567890128,5,2026-01-05T10:00:00Z\n")
    out = yaml.safe_load(cli("init", "--from", str(sample)).stdout)
    fields = out["mapping"]["fields"]
    assert "resolver" not in fields["gtin"] and fields["qty"]["resolver"] == "int"
    assert fields["when"]["resolver"] == "datetime"
