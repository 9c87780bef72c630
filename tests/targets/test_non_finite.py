"""NaN and infinities: one bad value is one reject with its lineage, never a stuck connector.

JSON has no NaN or Infinity. A JSONL line holding one is rejected by the
parser; a NaN read from Parquet reaches the writers and targets, which
reject the record naming the field (JSON writers, stdout, http, Fluent) or
write their documented form (CSV: ``nan``). The rejects file is always
written, whatever the record holds.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.runtime.rejects import RejectsWriter
from tests.http.conftest import block, connection
from tests.targets.fluent._support import connection as fluent_connection
from tests.targets.fluent._support import posts

ROOT = Path(__file__).resolve().parents[2]


def engine_run(spec: Path, state: Path) -> subprocess.CompletedProcess[str]:
    """``engine run SPEC`` in its own process, as a scheduler would start it."""
    env = {**os.environ, "ENGINE_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "engine", "run", str(spec), "--quiet"],
        cwd=spec.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def only_file(folder: Path) -> Path:
    (path,) = sorted(p for p in folder.rglob("*") if p.is_file())
    return path


FILE_SPEC = """
version: 1
name: nan
source:
  type: local
  path: inbox
  pattern: "*.%(ext)s"
  on_success: {move_to: "done/{name}"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: %(parser)s}
mapping:
  fields:
    sku: {source: sku, required: true}
    price: {source: price}
target:
  type: file
  writer: %(writer)s
  destination: {type: local, path: out}
on_error: {max_rejects: 1}
"""


def test_one_nan_line_among_ten_thousand_is_one_reject_and_the_file_moves(tmp_path, write_spec) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [json.dumps({"sku": f"S{n}", "price": n + 0.5}) for n in range(10_000)]
    lines[4_321] = '{"sku": "S4321", "price": NaN}'
    (inbox / "a.jsonl").write_text("\n".join(lines) + "\n")
    (inbox / "b.jsonl").write_text('{"sku": "LATER", "price": 1.5}\n')  # sorted after the bad file
    spec = write_spec(FILE_SPEC % {"ext": "jsonl", "parser": "jsonl", "writer": "jsonl"})

    done = engine_run(spec, tmp_path / "state")

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    written = read_jsonl(only_file(tmp_path / "out"))
    assert len(written) == 10_000 and {"sku": "LATER", "price": 1.5} in written
    assert all(r["sku"] != "S4321" for r in written)
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["a.jsonl", "b.jsonl"]
    assert not (inbox / "errors").exists() and not list(inbox.glob("*.jsonl"))
    (reject,) = read_jsonl(only_file(tmp_path / "state" / "rejects"))
    assert reject["stage"] == "parse"
    assert reject["lineage"] == {
        "uri": (inbox / "a.jsonl").as_uri(),
        "file": "a.jsonl",
        "row": 4322,
        "line": 4322,
    }
    assert reject["reasons"] == [
        "invalid JSON: price: NaN is not a number JSON can hold (JSON has no NaN or Infinity)"
    ]
    again = engine_run(spec, tmp_path / "state")  # nothing left behind to crash on
    assert again.returncode == 0, again.stderr


def write_parquet(path: Path, prices: list[float], skus: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    skus = skus or [f"S{n}" for n in range(len(prices))]
    pq.write_table(pa.table({"sku": skus, "price": pa.array(prices, pa.float64())}), path)


def test_a_parquet_nan_is_rejected_by_the_jsonl_writer_naming_the_field(tmp_path, write_spec) -> None:
    prices = [n + 0.25 for n in range(10_000)]
    prices[7_000] = math.nan
    write_parquet(tmp_path / "inbox" / "prices.parquet", prices)
    spec = write_spec(FILE_SPEC % {"ext": "parquet", "parser": "parquet", "writer": "jsonl"})

    done = engine_run(spec, tmp_path / "state")

    assert done.returncode == 0, done.stderr
    written = read_jsonl(only_file(tmp_path / "out"))
    assert len(written) == 9_999 and all(r["sku"] != "S7000" for r in written)
    assert [p.name for p in (tmp_path / "inbox" / "done").iterdir()] == ["prices.parquet"]
    (reject,) = read_jsonl(only_file(tmp_path / "state" / "rejects"))
    assert reject["stage"] == "target"
    assert reject["lineage"]["file"] == "prices.parquet" and reject["lineage"]["row"] == 7_001
    assert reject["reasons"] == ["price: NaN is not a number JSON can hold (JSON has no NaN or Infinity)"]
    assert reject["original"] == {"sku": "S7000", "price": "NaN"}
    assert reject["mapped"] == {"sku": "S7000", "price": "NaN"}


@pytest.mark.parametrize(
    "writer",
    ["jsonl", "json", "{type: json, pretty: true}", "{type: json, layout: object}"],
)
def test_json_writers_write_the_others_and_reject_each_non_finite_record(
    writer, tmp_path, write_spec, run_spec
) -> None:
    write_parquet(tmp_path / "inbox" / "p.parquet", [1.5, math.inf, 2.5, -math.inf, math.nan, 3.5])
    report = run_spec(write_spec(FILE_SPEC % {"ext": "parquet", "parser": "parquet", "writer": writer}))
    assert report.counts["written"] == 3 and report.counts["rejected"]["target"] == 3
    text = only_file(tmp_path / "out").read_text()
    records = read_jsonl(only_file(tmp_path / "out")) if writer == "jsonl" else json.loads(text)
    records = records["records"] if isinstance(records, dict) else records
    assert [r["price"] for r in records] == [1.5, 2.5, 3.5]
    reasons = [json.loads(line)["reasons"][0] for line in Path(report.rejects_path).read_text().splitlines()]
    assert [r.split(" is not")[0] for r in reasons] == ["price: Infinity", "price: -Infinity", "price: NaN"]


def test_the_csv_writer_writes_python_spelling_and_rejects_nan_inside_a_json_cell(
    tmp_path, write_spec, run_spec
) -> None:
    write_parquet(tmp_path / "inbox" / "p.parquet", [1.5, math.nan, -math.inf])
    spec = write_spec(
        (FILE_SPEC % {"ext": "parquet", "parser": "parquet", "writer": "csv"}).replace(
            "    price: {source: price}\n",
            "    price: {source: price}\n    history: {expr: '[record.price]', when: \"record.sku == 'S2'\"}\n",
        )
    )
    report = run_spec(spec)
    assert only_file(tmp_path / "out").read_text().splitlines() == ["sku,price,history", "S0,1.5,", "S1,nan,"]
    (reject,) = read_jsonl(Path(report.rejects_path))
    assert reject["reasons"] == [
        "history[0]: -Infinity is not a number JSON can hold (JSON has no NaN or Infinity)"
    ]


def test_the_stdout_target_rejects_instead_of_printing_invalid_json(
    tmp_path, write_spec, run_spec, capsys
) -> None:
    write_parquet(tmp_path / "inbox" / "p.parquet", [1.5, math.nan, 2.5])
    spec = write_spec(
        (FILE_SPEC % {"ext": "parquet", "parser": "parquet", "writer": "jsonl"}).split("target:")[0]
        + "target: {type: stdout}\non_error: {max_rejects: 1}\n"
    )
    report = run_spec(spec)
    assert [json.loads(line)["sku"] for line in capsys.readouterr().out.splitlines()] == ["S0", "S2"]
    assert report.counts["written"] == 2 and report.counts["rejected"]["target"] == 1


# --- the rejects file: always writable ------------------------------------------------------


class _Odd:
    def __repr__(self) -> str:
        return "<odd value>"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_rejects_file_takes_any_value_it_is_given(fmt, tmp_path) -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(3_000):
        inner.append([])
        inner = inner[0]
    original = {
        "nan": math.nan,
        "inf": math.inf,
        "dec": Decimal("-Infinity"),
        "obj": _Odd(),
        "raw": b"\x00\xff",
        "tags": {"a", "b"} - {"b"},
        "nested": {"x": [math.nan]},
        1: "int key",
    }
    writer = RejectsWriter(tmp_path / f"rejects.{fmt}", fmt)
    writer.write(
        {"stage": "target", "lineage": {"file": "f", "row": 1}, "reasons": ["r"], "original": original}
    )
    writer.write(
        {"stage": "target", "lineage": {"file": "f", "row": 2}, "reasons": ["deep"], "original": deep}
    )
    writer.close()
    text = (tmp_path / f"rejects.{fmt}").read_text()
    if fmt == "csv":
        assert "NaN,Infinity,-Infinity,<odd value>" in text and '"{""x"":[""NaN""]}"' in text
        return
    first, second = read_jsonl(tmp_path / "rejects.jsonl")
    assert first["original"] == {
        "nan": "NaN",
        "inf": "Infinity",
        "dec": "-Infinity",
        "obj": "<odd value>",
        "raw": "AP8=",
        "tags": ["a"],
        "nested": {"x": ["NaN"]},
        "1": "int key",
    }
    assert second["reasons"] == ["deep"] and "nested deeper than 200 levels" in json.dumps(second)


# --- targets that speak JSON over HTTP: rejected naming the field, never sent as null ----------------


@pytest.mark.parametrize("body", ["record", "batch"])
def test_the_http_target_rejects_a_nan_record_instead_of_sending_null(
    body, api, tmp_path, write_spec, run_spec
) -> None:
    write_parquet(tmp_path / "in" / "p.parquet", [1.5, math.nan, 2.5, math.inf])
    target = {"type": "http", "connection": "api", "path": "/items", "body": body}
    if body == "batch":
        target.update(path="/items/batch", batch_size=10)
    report = run_spec(
        write_spec(
            "version: 1\nname: items\n"
            + connection(api)
            + "source: {type: local, path: in}\nparser: {type: parquet}\n"
            + "mapping: {fields: {sku: {source: sku}, price: {source: price}}}\n"
            + block("target", target)
            + "on_error: {max_reject_ratio: 1}\n"
        )
    )
    assert report.counts["written"] == 2 and report.counts["rejected"]["target"] == 2
    sent = [r["body"] for r in api.requests("/items")]
    prices = [i["price"] for b in sent for i in (b if isinstance(b, list) else [b])]
    assert sorted(prices) == [1.5, 2.5]
    reasons = sorted(r["reasons"][0] for r in read_jsonl(Path(report.rejects_path)))
    assert reasons == [
        "price: Infinity is not a number JSON can hold (JSON has no NaN or Infinity)",
        "price: NaN is not a number JSON can hold (JSON has no NaN or Infinity)",
    ]


@pytest.fixture
def api():
    from tests.http.server import ApiServer

    server = ApiServer().start()
    yield server
    server.stop()


FLUENT_TARGETS = {
    "fluent.batch": (
        "{type: fluent.batch, connection: fluent, batch_size: 10, poll: {interval: 20ms}}",
        {
            "locationRef": {"value": "LOC-001"},
            "skuRef": {"source": "sku"},
            "qty": {"value": 5},
            "attributes.weight": {"source": "price"},
        },
        "^/api/v4.1/job/.+/batch$",
        lambda body: [e["attributes"]["weight"] for e in body["entities"]],
    ),
    "fluent.event": (
        "{type: fluent.event, connection: fluent, attributes: $record, event: {name: UPSERT_PRODUCT, "
        "entityType: PRODUCT_CATALOGUE, entityRef: 'PC:MASTER:1', rootEntityType: PRODUCT_CATALOGUE, "
        "rootEntityRef: 'PC:MASTER:1'}}",
        {
            "ref": {"source": "sku"},
            "name": {"source": "sku"},
            "type": {"value": "VARIANT"},
            "qty": {"source": "price"},
        },
        "^/api/v4.1/event/async$",
        lambda body: [body["attributes"]["qty"]],
    ),
    "fluent.graphql": (
        "{type: fluent.graphql, connection: fluent, mutation: createLocation, returning: 'id ref', "
        "aliases_per_request: 10}",
        {
            "ref": {"source": "sku"},
            "name": {"source": "sku"},
            "type": {"value": "STORE"},
            "retailer.id": {"source": "$context.retailer_id"},
            "primaryAddress.latitude": {"source": "price"},
        },
        "^/graphql$",
        lambda body: [v["primaryAddress"]["latitude"] for v in body["variables"].values()],
    ),
}


@pytest.mark.parametrize("name", sorted(FLUENT_TARGETS))
def test_fluent_targets_reject_a_nan_record_instead_of_sending_null(
    name, emu, tmp_path, write_spec, run_spec
) -> None:
    target, fields, path, numbers = FLUENT_TARGETS[name]
    write_parquet(
        tmp_path / "in" / "p.parquet", [1.5, math.nan, 2.5], skus=["SKU-0001", "SKU-0002", "SKU-0003"]
    )
    report = run_spec(
        write_spec(
            "version: 1\nname: nan\n"
            + fluent_connection(emu)
            + "source: {type: local, path: in}\nparser: {type: parquet}\n"
            + "mapping: {fields: "
            + json.dumps(fields)
            + "}\n"
            + f"target: {target}\n"
            + "on_error: {max_reject_ratio: 1}\n"
        )
    )
    assert report.counts["written"] == 2 and report.counts["rejected"]["target"] == 1, report.error
    (reject,) = read_jsonl(Path(report.rejects_path))
    assert reject["lineage"]["row"] == 2
    assert reject["reasons"][0].endswith(": NaN is not a number JSON can hold (JSON has no NaN or Infinity)")
    sent = [n for r in posts(emu, path) for n in numbers(r["json"])]
    assert sorted(sent) == [1.5, 2.5]


@pytest.fixture(scope="module")
def _emulator():
    from engine.emulator import Emulator

    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_emulator):
    _emulator.reset()
    return _emulator
