"""What a csv run loads: Arrow on the system allocator, and none of the emulator's or GraphQL's stack.

Peak memory of a columnar run is part of what the engine promises (flat from
100k to 10M rows, ``make bench``); these check the two levers that hold it
down in a fresh process, as ``engine run`` starts one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: loads a csv -> null run through the command line, then reports Arrow's pool and what was imported
PROBE = """
import json, sys
from engine.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    import pyarrow
    print(json.dumps({"pool": pyarrow.default_memory_pool().backend_name, "modules": sorted(sys.modules)}))
"""
#: modules a csv -> null run has no use for (the emulator's server, GraphQL, HTTP clients)
NOT_NEEDED = ("graphql", "starlette", "uvicorn", "httpx", "cryptography", "engine.emulator.server")


def probe(tmp_path: Path, env: dict[str, str]) -> dict:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stock.csv").write_text("sku,qty\nA1,3\nB2,4\n", encoding="utf-8")
    spec = tmp_path / "stock.yaml"
    spec.write_text(
        "version: 1\nname: stock\nsource: {type: local, path: in}\nparser: {type: csv}\n"
        "mapping: {fields: {ref: {source: sku}, qty: {source: qty, resolver: int}}}\n"
        'target: {type: "null"}\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "run", str(spec), "--quiet"],
        env={**env, "ENGINE_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_csv_run_allocates_arrow_memory_from_the_system_and_loads_no_server_stack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}

    found = probe(tmp_path, env)

    assert found["pool"] == "system"
    assert "engine.mapping.columnar" in found["modules"]  # the run did map on columns
    loaded = [m for m in found["modules"] if m.split(".")[0] in NOT_NEEDED or m in NOT_NEEDED]
    assert loaded == []


def test_an_arrow_pool_the_user_chose_is_kept(tmp_path: Path) -> None:
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}

    assert probe(tmp_path, env)["pool"] == "jemalloc"
