"""docs/serve.md documents every option of engine serve, and its spec example is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli.serve import serve_cmd
from engine.spec.compile import compile_document
from engine.spec.loader import load_text

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
