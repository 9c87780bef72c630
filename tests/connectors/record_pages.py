"""Record the GraphQL pages the library's extraction connectors use as ``tests:`` fixtures.

``python tests/connectors/record_pages.py`` starts the emulator with its demo
seed and its clock frozen at :data:`CLOCK`, runs each fluent.graphql source's
query for a first page of three records, and writes the answer, exactly as
served, to every ``fixtures/*.json`` file the spec's tests read. Rerun it after
changing a query: the other recordings come out unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.cli.common import expand_specs  # noqa: E402
from engine.emulator import Emulator  # noqa: E402

PAGE = 3
#: the emulator's clock while recording, so a recording is the same every time
CLOCK = "2026-01-05T09:00:00Z"


def record(emu: Emulator, token: str, spec: Path) -> list[Path]:
    """Write the first page of the spec's query to each fixture its tests read."""
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    source = doc.get("source") or {}
    if source.get("type") != "fluent.graphql":
        return []
    wm = source.get("watermark") or {}
    variables = {source.get("page_size_variable", "first"): PAGE, **(source.get("variables") or {})}
    if wm.get("variable"):
        variables[wm["variable"]] = wm.get("initial")
    answer = httpx.post(
        f"{emu.url}/graphql",
        json={"query": source["query"], "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    written = []
    for case in doc.get("tests") or []:
        data = case.get("input")
        if isinstance(data, dict) and str(data.get("file", "")).startswith("fixtures/"):
            path = spec.parent / data["file"]
            path.write_text(json.dumps(answer, indent=1) + "\n", encoding="utf-8")
            written.append(path)
    return written


def main() -> None:
    """Record every extraction connector's fixture pages."""
    emu = Emulator(settings={"clock_start": CLOCK})
    emu.start()
    try:
        c = emu.credentials
        token = httpx.post(
            f"{emu.url}/oauth/token",
            data={"grant_type": "password", "scope": "api", **c},
        ).json()["access_token"]
        for spec in expand_specs((str(ROOT / "connectors"),)):
            for path in record(emu, token, Path(spec)):
                print(path.relative_to(ROOT))
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
