"""--workers: files shared between processes (or Dask workers), one run, nothing twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from engine.contracts import Item
from engine.runtime.coordinator import share

SPEC = """
version: 1
name: workers
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "processed/{name}"}}
parser: {type: csv}
mapping: {fields: {sku: {source: sku, required: true}, qty: {source: qty, resolver: int}}}
target: {type: file, writer: jsonl, destination: {type: local, path: out}}
on_error: {max_reject_ratio: 0.1}
%(extra)s
"""


def make_inbox(tmp_path: Path, files: int = 5, rows: int = 200) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for f in range(files):
        lines = ["sku,qty"] + [f"F{f}-S{i},{i % 7}" for i in range(rows)]
        lines[3] = f"F{f}-BAD,ten"
        (inbox / f"f{f}.csv").write_text("\n".join(lines) + "\n")


def test_share_balances_by_size_and_keeps_listing_order() -> None:
    items = [Item(f"file:///{n}", n, size=s) for n, s in [("a", 10), ("b", 1), ("c", 9), ("d", 2)]]
    groups = share(items, 2)
    assert [[i.name for i in g] for g in groups] == [["a", "b"], ["c", "d"]]
    assert share(items[:1], 4) == [[items[0]]]


@pytest.mark.parametrize("executor", ["--workers 2", "executor: {type: dask, workers: 2}"])
def test_files_are_shared_and_processed_exactly_once(tmp_path, write_spec, cli, executor) -> None:
    make_inbox(tmp_path)
    flag = executor if executor.startswith("--") else ""
    spec = write_spec(SPEC % {"extra": "" if flag else executor})
    args = ["run", str(spec), "--quiet", "--format", "json", *flag.split()]
    result = cli(*args)
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["records"]["read"] == 1000 and report["records"]["written"] == 995
    assert report["records"]["rejected"]["mapping"] == 5 and report["target"]["workers"] == 2
    assert sorted(p.name for p in (tmp_path / "inbox" / "processed").iterdir()) == [
        f"f{f}.csv" for f in range(5)
    ]
    out = [json.loads(x) for p in (tmp_path / "out").iterdir() for x in p.read_text().splitlines()]
    assert len(out) == 995 and len({r["sku"] for r in out}) == 995, "no record written twice"
    rejects = Path(report["rejects_path"]).read_text().splitlines()
    assert len(rejects) == 5 and len(list(Path(report["rejects_path"]).parent.iterdir())) == 1, (
        "one rejects file"
    )
    again = json.loads(cli(*args).stdout)
    assert again["files"]["seen"] == 0 or all(i["status"] == "skipped" for i in again["items"])


def test_workers_deliver_delta_inventory_exactly_once(tmp_path, write_spec, cli) -> None:
    from engine.emulator import Emulator

    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    try:
        before = {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        expected = Counter()
        for f in range(4):
            lines = ["loc,sku,qty"]
            for i in range(60):
                loc, sku, qty = f"LOC-00{1 + (i + f) % 5}", f"SKU-{1 + (i * 3 + f) % 30:04d}", 1 + i % 5
                lines.append(f"{loc},{sku},{qty}")
                expected[(sku, loc)] += qty
            (inbox / f"d{f}.csv").write_text("\n".join(lines) + "\n")
        c = emu.credentials
        conn = json.dumps(
            {
                "type": "fluent",
                "base_url": emu.url,
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
                "username": c["username"],
                "password": c["password"],
                "retailer_id": "1",
            }
        )
        spec = write_spec(f"""
        version: 1
        name: workers-delta
        connections: {{fluent: {conn}}}
        source: {{type: local, path: inbox, pattern: "*.csv"}}
        parser: {{type: csv}}
        mapping: {{fields: {{locationRef: loc, skuRef: sku, qty: {{source: qty, resolver: int}}, type: {{value: DELTA}}}}}}
        target: {{type: fluent.batch, connection: fluent, batch_size: 25, poll: {{interval: 20ms}}}}
        executor: {{type: processes, workers: 2}}
        """)
        result = cli("run", str(spec), "--quiet", "--format", "json")
        report = json.loads(result.stdout)
        assert result.exit_code == 0, report
        assert report["records"]["written"] == 240 and report["target"]["jobs"] == 2
        after = {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.state("inventory_positions")}
        for key, delta in expected.items():
            assert after[key] == before.get(key, 0) + delta
    finally:
        emu.stop()
