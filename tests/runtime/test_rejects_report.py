"""What a newcomer sees about rejects: the report's reasons, the target in words, a CSV for a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from engine.runtime.report import RunReport, plain_counters

SPEC = """
version: 1
name: stock
source: {type: local, path: inbox, pattern: "*.csv"}
parser: {type: csv}
mapping:
  fields:
    sku: {source: sku, required: true}
    qty: {source: qty, required: true, resolver: int}
target:
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  name: "stock-{run_id}.jsonl"
on_error: {max_reject_ratio: 1%(rejects)s}
"""

#: row 2 is malformed CSV (text after a closing quote), rows 3, 5 and 6 have quantities that are not numbers
DATA = 'sku,qty\nA,1\nB,"2"x\nC,ten\nD,4\nE,five\nF,\n'


def _connector(tmp_path: Path, write_spec, rejects: str = "") -> Path:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "inbox" / "stock.csv").write_text(DATA, encoding="utf-8")
    return write_spec(SPEC % {"rejects": rejects})


def test_the_report_ends_with_the_top_reject_reasons_and_their_first_rows(tmp_path, write_spec, run_spec):
    report = run_spec(_connector(tmp_path, write_spec))
    assert report.counts["rejected"]["total"] == 4
    assert report.reject_reasons == [
        {
            "stage": "mapping",
            "reason": "qty: '…' is not an integer (resolver int, source qty)",
            "count": 2,
            "first": [{"file": "stock.csv", "row": 3, "line": 4}, {"file": "stock.csv", "row": 5, "line": 6}],
        },
        {
            "stage": "mapping",
            "reason": "qty: required value is missing (source qty)",
            "count": 1,
            "first": [{"file": "stock.csv", "row": 6, "line": 7}],
        },
        {
            "stage": "parse",
            "reason": "malformed CSV at line 3: ',' expected after '\"'",
            "count": 1,
            "first": [{"file": "stock.csv", "row": 2, "line": 3}],
        },
    ]
    text = report.render_text().splitlines()
    start = text.index("  why 4 records were rejected (most common first):")
    assert text[start:] == [
        "  why 4 records were rejected (most common first):",
        "         2 × mapping: qty: '…' is not an integer (resolver int, source qty)",
        "             first at stock.csv rows 3, 5",
        "         1 × mapping: qty: required value is missing (source qty)",
        "             first at stock.csv row 6",
        "         1 × parse: malformed CSV at line 3: ',' expected after '\"'",
        "             first at stock.csv row 2",
    ]
    assert "  target   1 file published" in text
    on_disk = json.loads(Path(report.report_path).read_text())
    assert on_disk["reject_reasons"] == report.reject_reasons


def test_a_reason_seen_once_keeps_its_value_and_reasons_past_five_are_counted() -> None:
    from engine.runtime.rejects import RejectTally

    tally = RejectTally()
    tally.add("mapping", ["qty: 'ten' is not an integer"], {"file": "a.csv", "row": 4})
    assert tally.top(5)[0]["reason"] == "qty: 'ten' is not an integer"
    tally.add("mapping", ["qty: 'x' is not an integer"], {"file": "a.csv", "row": 9})
    assert tally.top(5)[0]["reason"] == "qty: '…' is not an integer"
    many = [
        {"stage": "target", "reason": f"reason {i}", "count": 1, "first": [{"file": "f", "row": i}]}
        for i in range(7)
    ]
    report = RunReport(
        "c", "s", "r", datetime.now(UTC), reject_reasons=many, counts={"rejected": {"total": 7}}
    )
    assert report.render_text().endswith("    and 2 more reason(s): see the rejects file")


def test_the_target_line_is_in_plain_words() -> None:
    counters = {
        "jobs": 1,
        "batches": 2,
        "polls": 4,
        "expired_jobs": 0,
        "requests": 7,
        "retries": 0,
        "reconciled": 0,
        "token_requests": 1,
    }
    assert plain_counters(counters) == "1 job created, 2 batches sent, 4 status checks, 7 requests, 1 sign-in"
    assert plain_counters({"jobs": 0}) == "nothing to report"
    assert plain_counters({"custom_thing": 3, "truncated": True}) == "custom thing 3, stopped at max_records"


def test_worker_reports_merge_their_reasons() -> None:
    now = datetime.now(UTC)
    a = RunReport(
        "c",
        "s",
        "r",
        now,
        reject_reasons=[{"stage": "mapping", "reason": "x", "count": 2, "first": [{"row": 1}, {"row": 2}]}],
    )
    b = RunReport(
        "c",
        "s",
        "r",
        now,
        reject_reasons=[
            {"stage": "mapping", "reason": "x", "count": 3, "first": [{"row": 7}, {"row": 8}]},
            {"stage": "target", "reason": "y", "count": 4, "first": [{"row": 9}]},
        ],
    )
    a.add(b)
    assert a.reject_reasons == [
        {"stage": "mapping", "reason": "x", "count": 5, "first": [{"row": 1}, {"row": 2}, {"row": 7}]},
        {"stage": "target", "reason": "y", "count": 4, "first": [{"row": 9}]},
    ]


def test_a_csv_rejects_file_has_the_original_columns_first_a_bom_for_excel_and_raw_unreadable_rows(
    tmp_path, write_spec, run_spec
):
    report = run_spec(_connector(tmp_path, write_spec, ", rejects: {format: csv, excel: true}"))
    raw = Path(report.rejects_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfsku,qty,_extra,_file,_row,_line,_stage,_reason,_raw\r\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # the first reject is the row the CSV reader could not read: its columns are empty, its line kept
    assert rows[0]["_row"] == "2" and rows[0]["sku"] == "" and rows[0]["_raw"] == 'B,"2"x'
    assert rows[0]["_stage"] == "parse"
    assert [(r["sku"], r["qty"], r["_raw"]) for r in rows[1:]] == [
        ("C", "ten", ""),
        ("E", "five", ""),
        ("F", "", ""),
    ]


def test_without_excel_there_is_no_bom(tmp_path, write_spec, run_spec):
    report = run_spec(_connector(tmp_path, write_spec, ", rejects: {format: csv}"))
    assert Path(report.rejects_path).read_bytes().startswith(b"sku,qty,")


def test_a_jsonl_rejects_file_keeps_the_raw_line_of_an_unreadable_row(tmp_path, write_spec, run_spec):
    report = run_spec(_connector(tmp_path, write_spec))
    first = json.loads(Path(report.rejects_path).read_text().splitlines()[0])
    assert first["stage"] == "parse" and first["original"] == 'B,"2"x'


def test_a_fixed_row_of_a_csv_rejects_file_replays_and_an_unfixed_raw_line_is_refused(
    tmp_path, write_spec, run_spec
):
    spec = _connector(tmp_path, write_spec, ", rejects: {format: csv, excel: true}")
    report = run_spec(spec)
    path = Path(report.rejects_path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows[1]["qty"] = "10"  # C fixed; the raw line of B and the others left as they were
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = run_spec(spec, replay=fixed)
    assert again.counts["written"] == 1
    reasons = {r["reason"] for r in again.reject_reasons}
    assert any("cannot replay: the entry's original is not a record" in r for r in reasons)
