"""docs/serve.md documents every option of engine serve, and its spec example is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from engine.cli.serve import serve_cmd
from engine.spec.compile import compile_document
from engine.spec.loader import load_text
from engine.spec.sections import ANSWER
from engine.text_templates import answer_template

DOC = (Path(__file__).resolve().parents[2] / "docs" / "serve.md").read_text(encoding="utf-8")
OPTIONS = sorted(
    opt for param in serve_cmd.params for opt in param.opts if opt.startswith("--") and opt != "--help"
)


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_is_in_the_table(option):
    assert re.search(rf"^\| [^|]*`{re.escape(option)}`", DOC, re.MULTILINE), (
        f"docs/serve.md: no row for {option}"
    )


def test_the_webhook_example_is_a_valid_spec(tmp_path):
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if b.startswith("version: 1"))
    plan = compile_document(load_text(block, str(tmp_path / "example.yaml"), base_dir=tmp_path))
    assert plan.source.name == "payload" and plan.trigger.webhook.auth.type == "fluent_signature"


def test_every_spec_example_compiles(tmp_path, monkeypatch):
    monkeypatch.setenv("ASN_WEBHOOK_KEY", "k" * 32)
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if b.startswith("version: 1")]
    assert len(blocks) >= 2
    for block in blocks:
        compile_document(load_text(block, str(tmp_path / "example.yaml"), base_dir=tmp_path)).close()


def test_the_json_answer_example_compiles_and_renders_valid_json():
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL) if b.startswith("answer:"))
    answer = yaml.safe_load(block)["answer"]
    template = answer_template(answer["body"], answer["each"], separator=answer["separator"])
    assert template.problems == []
    records = [
        {"row": 1, "status": "delivered", "answer": {"id": "O-1"}},
        {"row": 2, "status": "rejected", "answer": None, "reason": 'qty: "ten"'},
    ]
    assert json.loads(template.render({"run_id": "r1"}, records)) == {
        "run": "r1",
        "lines": [
            {"row": 1, "status": "delivered", "id": "O-1"},
            {"row": 2, "status": "rejected", "id": None},
        ],
    }


def test_every_answer_option_has_a_row_showing_its_default():
    for option, sub in ANSWER["properties"].items():
        found = [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]
        assert found, f"docs/serve.md: no row for answer.{option}"
        if "default" in sub:
            shown = json.dumps(sub["default"]) if "\n" in str(sub["default"]) else str(sub["default"])
            assert any(f"`{shown}`" in row for row in found), f"answer.{option}: default not shown"
