"""Lookups on a chunk read with Arrow (CSV or JSON Lines): the chunk stays columnar, and both paths say the same.

The same input runs with ``mapping.columnar`` on and off; the output file,
the rejects (lookup rejects with their key, mapping rejects of rows whose
answer is not a number) and the lookup counts must be equal, and the
columnar run must have written its records from columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SPEC = """
version: 1
name: priced
source: {type: local, path: inbox, pattern: "*.%(input)s"}
parser: {type: %(input)s, chunk_size: 20}
lookups:
  price:
    type: file
    path: prices.csv
    parser: {type: csv}
    key: {sku: sku, loc: loc}
    match: {sku: SKU, loc: LOC}
    on_missing: %(on_missing)s
  extra:
    type: file
    path: extra.jsonl
    parser: {type: jsonl}
    key: sku
    match: sku
    on_missing: "null"
mapping:
  columnar: %(columnar)s
  fields:
    skuRef: {source: sku, required: true, resolver: [trim, upper]}
    loc: {source: loc}
    price: {source: $lookup.price.PRICE, resolver: {name: decimal, args: {scale: 2}}}
    currency: {source: $lookup.price.CURRENCY, resolver: upper, default: EUR}
    band: {source: $lookup.extra.band}
    weight: {source: $lookup.extra.weight}
    total: {expr: "record.qty"}
    qty: {source: qty, resolver: int}
target:
  type: file
  writer: jsonl
  destination: {type: local, path: %(out)s}
  name: "out.jsonl"
state: {dedupe: none, lock: false}
on_error: {max_reject_ratio: 1}
"""


def _write_inputs(root: Path) -> None:
    (root / "inbox").mkdir(exist_ok=True)
    rows = ["sku,loc,qty"]
    for i in range(300):  # values the columnar mapping is in doubt about only in the first chunks
        n = i % 40 if i < 100 or i % 40 != 7 else 8
        sku = f" sku-{n:03d} " if i % 11 else f"SKU-{n:03d}"
        loc = "" if i % 37 == 0 else f"L{i % 3}"
        rows.append(f"{sku},{loc},{'x' if i % 53 == 0 and i < 100 else i}")
    (root / "inbox" / "stock.csv").write_text("\n".join(rows) + "\n")
    objects = [dict(zip(("sku", "loc", "qty"), row.split(","), strict=True)) for row in rows[1:]]
    (root / "inbox" / "stock.jsonl").write_text("".join(json.dumps(o) + "\n" for o in objects))
    prices = ["SKU,LOC,PRICE,CURRENCY"]
    for n in range(35):
        for loc in range(2):
            price = "n/a" if n == 7 else f"{n}.{n % 10}5"
            prices.append(f" sku-{n:03d} ,L{loc},{price},{'usd' if n % 2 else ''}")
    (root / "prices.csv").write_text("\n".join(prices) + "\n")
    extra = [{"sku": f" sku-{n:03d} ", "band": f"B{n % 4}", "weight": n * 1.5} for n in range(0, 40, 3)]
    (root / "extra.jsonl").write_text("\n".join(json.dumps(e) for e in extra) + "\n")


def _run(
    root: Path, write_spec: Any, run_spec: Any, *, columnar: bool, on_missing: str, kind: str = "csv"
) -> dict[str, Any]:
    out = root / ("columns" if columnar else "rows")
    spec = write_spec(
        SPEC % {"columnar": str(columnar).lower(), "on_missing": on_missing, "out": out, "input": kind},
        name=f"spec-{columnar}.yaml",
    )
    report = run_spec(spec)
    assert report.exit_code in (0, 2), report.error
    rejects = []
    if report.rejects_path:
        for line in Path(report.rejects_path).read_text().splitlines():
            r = json.loads(line)
            rejects.append((r["lineage"]["row"], r["stage"], r["reasons"], r.get("errors"), r["original"]))
    return {
        "out": (out / "out.jsonl").read_text() if (out / "out.jsonl").exists() else None,
        "rejects": rejects,
        "counts": report.counts,
        "lookups": {name: {k: v for k, v in s.items() if k != "rows"} for name, s in report.lookups.items()},
        "from_columns": report.target.get("records_from_columns", 0),
    }


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
@pytest.mark.parametrize("on_missing", ["reject", '"null"', "skip"])
def test_lookups_on_columns_give_what_they_give_on_rows(
    tmp_path, write_spec, run_spec, on_missing, kind
) -> None:
    _write_inputs(tmp_path)
    columns = _run(tmp_path, write_spec, run_spec, columnar=True, on_missing=on_missing, kind=kind)
    rows = _run(tmp_path, write_spec, run_spec, columnar=False, on_missing=on_missing, kind=kind)
    assert rows["from_columns"] == 0 and columns["from_columns"] > 0
    for key in ("out", "rejects", "counts", "lookups"):
        assert columns[key] == rows[key], key
    assert columns["out"] and '"price":"1.15"' in columns["out"] and '"band":"B0"' in columns["out"]
    if on_missing == "reject":
        stages = {stage for _row, stage, *_ in columns["rejects"]}
        assert stages == {"lookup", "mapping"}
