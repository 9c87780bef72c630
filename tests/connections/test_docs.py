"""docs/s3-sftp.md documents every option of the file plugins (S3, SFTP, local) with its default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.registry import default_registries

DOC = (Path(__file__).resolve().parents[2] / "docs" / "s3-sftp.md").read_text()
PLUGINS = [(kind, name) for kind in ("connections", "sources", "destinations") for name in ("s3", "sftp")]
PLUGINS += [("sources", "local"), ("destinations", "local")]


def rows(option: str) -> list[str]:
    return [line for line in DOC.splitlines() if line.startswith(f"| `{option}` |")]


def shown(default: object) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if default == "":
        return '""'
    return json.dumps(default) if not isinstance(default, str) else default


@pytest.mark.parametrize("kind,name", PLUGINS, ids=[f"{k}.{n}" for k, n in PLUGINS])
def test_every_option_has_a_row_showing_its_default(kind: str, name: str) -> None:
    cls = default_registries().kind(kind).get(name)
    for option, schema in cls.schema["properties"].items():
        found = rows(option)
        assert found, f"docs/s3-sftp.md has no table row for {kind} {name} option {option}"
        if "default" in schema:
            assert any(f"`{shown(schema['default'])}`" in row for row in found), (
                f"docs/s3-sftp.md does not show the default of {kind} {name} {option} ({schema['default']!r})"
            )
