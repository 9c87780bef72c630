"""End to end through the runner: counts add up, nothing lost, state honoured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK, EXIT_REJECTS
from engine.spec.compile import compile_file

SPEC = """
version: 1
name: stock
source:
  type: local
  path: inbox
  pattern: "stock_*.csv"
  on_success: {move_to: "processed/{name}"}
  on_failure: {move_to: "errors/{name}"}
parser: {type: csv}
mapping:
  fields:
    locationRef: {source: location_code, required: true, resolver: [trim, upper]}
    skuRef: {source: sku, required: true}
    qty: {source: quantity, required: true, resolver: int}
    type: {value: LAST_ON_HAND}
    attributes.batchNumber: {source: lot}
target:
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  name: "stock-{run_id}.jsonl"
on_error: {max_reject_ratio: %(ratio)s}
"""

MESSY = (
    b"\xef\xbb\xbflocation_code,sku,quantity,lot\r\n"
    b" loc1 ,S1,5,L9\r\n"
    b'loc2,"S,2",7,"multi\r\nline"\r\n'
    b"loc3,S3,ten,\r\n"
    b"loc4,S4\r\n"
    b"loc5,S5,9,x\r\n"
)


@pytest.fixture
def connector(tmp_path: Path, write_spec):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_bytes(MESSY)
    return write_spec(SPEC % {"ratio": 0.5})


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_messy_csv_good_rows_arrive_bad_rows_are_rejected_and_counts_add_up(connector, run_spec, tmp_path):
    report = run_spec(connector)
    assert report.status == "ok" and report.exit_code == EXIT_OK
    out = _jsonl(next((tmp_path / "out").glob("*.jsonl")))
    assert out == [
        {
            "locationRef": "LOC1",
            "skuRef": "S1",
            "qty": 5,
            "type": "LAST_ON_HAND",
            "attributes": {"batchNumber": "L9"},
        },
        {
            "locationRef": "LOC2",
            "skuRef": "S,2",
            "qty": 7,
            "type": "LAST_ON_HAND",
            "attributes": {"batchNumber": "multi\r\nline"},
        },
        {
            "locationRef": "LOC5",
            "skuRef": "S5",
            "qty": 9,
            "type": "LAST_ON_HAND",
            "attributes": {"batchNumber": "x"},
        },
    ]
    c = report.counts
    assert c["read"] == 5 and c["written"] == 3 and c["rejected"]["total"] == 2
    assert c["read"] == c["written"] + c["rejected"]["total"]
    rejects = _jsonl(Path(report.rejects_path))
    by_row = {r["lineage"]["row"]: r for r in rejects}
    assert by_row[3]["stage"] == "mapping" and by_row[3]["lineage"]["line"] == 5
    assert by_row[3]["reasons"] == ["qty: 'ten' is not an integer (resolver int, source quantity)"]
    assert by_row[3]["original"]["quantity"] == "ten"
    assert by_row[4]["stage"] == "parse" and by_row[4]["reasons"] == ["row has 2 cells, the header has 4"]
    assert (tmp_path / "inbox" / "processed" / "stock_1.csv").exists()
    saved = json.loads(Path(report.report_path).read_text())
    assert saved["records"]["read"] == 5 and saved["files"]["done"] == 1


def test_rejects_over_tolerance_exit_3_and_the_default_tolerance_is_zero(tmp_path, write_spec, run_spec):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_bytes(MESSY)
    spec = write_spec(SPEC % {"ratio": 0.1})
    report = run_spec(spec)
    assert report.exit_code == EXIT_REJECTS and report.status == "rejects_exceeded"
    (tmp_path / "inbox" / "stock_2.csv").write_bytes(MESSY)
    spec = write_spec((SPEC % {"ratio": 0}).replace("on_error: {max_reject_ratio: 0}", ""), "strict.yaml")
    assert run_spec(spec).exit_code == EXIT_REJECTS


def test_rerun_skips_processed_files_until_state_is_cleared(tmp_path, write_spec, run_spec, cli):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_bytes(b"location_code,sku,quantity,lot\nL,S,1,\n")
    spec = write_spec((SPEC % {"ratio": 0}).replace('on_success: {move_to: "processed/{name}"}', ""))
    first = run_spec(spec)
    assert [i.status for i in first.items] == ["done"]
    second = run_spec(spec)
    assert [i.status for i in second.items] == ["skipped"] and second.counts["read"] == 0
    result = cli("state", "files", str(spec))
    assert "done" in result.output and "stock_1.csv" in result.output
    cli("state", "clear", "--yes", str(spec))
    third = run_spec(spec)
    assert [i.status for i in third.items] == ["done"] and third.counts["written"] == 1


def test_a_changed_file_with_the_same_name_is_new_work(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    f = inbox / "stock_1.csv"
    f.write_bytes(b"location_code,sku,quantity,lot\nL,S,1,\n")
    spec = write_spec((SPEC % {"ratio": 0}).replace('on_success: {move_to: "processed/{name}"}', ""))
    run_spec(spec)
    f.write_bytes(b"location_code,sku,quantity,lot\nL,S,2,\nL,T,3,\n")
    report = run_spec(spec)
    assert [i.status for i in report.items] == ["done"] and report.counts["written"] == 2


def test_checksum_dedupe_skips_the_same_bytes_under_a_new_name(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    body = b"location_code,sku,quantity,lot\nL,S,1,\n"
    (inbox / "stock_1.csv").write_bytes(body)
    spec = write_spec(SPEC % {"ratio": 0} + "state: {dedupe: checksum}\n")
    run_spec(spec)
    (inbox / "stock_2.csv").write_bytes(body)
    (inbox / "stock_3.csv").write_bytes(body + b"L,T,2,\n")
    report = run_spec(spec)
    assert [(i.name, i.status) for i in report.items] == [("stock_2.csv", "skipped"), ("stock_3.csv", "done")]


def test_an_unreadable_file_is_moved_to_errors_and_others_go_on(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock_1.csv").write_bytes(b"sku,sku\n1,2\n")
    (inbox / "stock_2.csv").write_bytes(b"location_code,sku,quantity,lot\nL,S,1,\n")
    report = run_spec(write_spec(SPEC % {"ratio": 0}))
    assert [(i.name, i.status) for i in report.items] == [("stock_1.csv", "failed"), ("stock_2.csv", "done")]
    assert report.exit_code == EXIT_REJECTS
    assert (inbox / "errors" / "stock_1.csv").exists() and (inbox / "processed" / "stock_2.csv").exists()
    assert "duplicate column names" in report.items[0].reason


def test_invalid_record_policies_skip_and_fail(tmp_path, write_spec, run_spec, connector):
    skip = write_spec(
        (SPEC % {"ratio": 0}).replace("on_error: {max_reject_ratio: 0}", "on_error: {invalid_record: skip}"),
        "skip.yaml",
    )
    report = run_spec(skip)
    assert (
        report.exit_code == EXIT_OK and report.counts["skipped_invalid"] == 2 and report.rejects_path is None
    )
    (tmp_path / "inbox" / "stock_9.csv").write_bytes(MESSY)
    fail = write_spec(
        (SPEC % {"ratio": 0}).replace("on_error: {max_reject_ratio: 0}", "on_error: {invalid_record: fail}"),
        "fail.yaml",
    )
    report = run_spec(fail)
    assert (
        report.items[-1].status == "failed" and "on_error.invalid_record is 'fail'" in report.items[-1].reason
    )


def test_dry_run_prints_mapped_records_and_changes_nothing(connector, run_spec, tmp_path, _state_dir):
    import io

    out = io.StringIO()
    report = run_spec(connector, dry_run=True, limit=2, out=out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["skuRef"] for r in lines] == ["S1", "S,2"]
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "inbox" / "stock_1.csv").exists()
    assert not (_state_dir / "reports").exists()
    assert report.dry_run and report.status == "stopped"


def test_limit_leaves_the_file_unfinished_for_the_next_run(connector, run_spec, tmp_path):
    report = run_spec(connector, limit=2)
    assert report.items[0].status == "partial"
    assert (tmp_path / "inbox" / "stock_1.csv").exists()
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    again = run_spec(connector)
    assert again.items[0].status == "done" and again.counts["written"] == 3


def test_a_second_run_while_locked_stops_immediately(connector, run_spec):
    from engine.spec.compile import compile_file

    plan = compile_file(connector)
    store = plan.state_store
    store.open_at(store.locate(Path(plan.base_dir)))
    assert store.lock_acquire("stock", "someone-else", 600, host="h", pid=1) is None
    store.close()
    report = run_spec(connector)
    assert report.status == "locked" and report.exit_code == EXIT_OK and "held by h pid 1" in report.error
    assert run_spec(connector, fail_if_locked=True).exit_code == EXIT_FAILED


def test_rejects_as_csv_put_original_columns_first(connector, run_spec, write_spec, tmp_path):
    spec = write_spec(
        (SPEC % {"ratio": 0.5}).replace(
            "on_error: {max_reject_ratio: 0.5}", "on_error: {max_reject_ratio: 0.5, rejects: {format: csv}}"
        ),
        "csvrej.yaml",
    )
    report = run_spec(spec)
    text = Path(report.rejects_path).read_text().splitlines()
    assert text[0] == "location_code,sku,quantity,lot,_extra,_file,_row,_line,_stage,_reason,_raw"
    assert len(text) == 3


def test_file_target_splits_by_max_records_and_publishes_atomically(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = "".join(f"L,S{i},{i},\n" for i in range(25))
    (inbox / "stock_1.csv").write_text("location_code,sku,quantity,lot\n" + rows)
    spec = write_spec(
        (SPEC % {"ratio": 0}).replace(
            'name: "stock-{run_id}.jsonl"', 'name: "part-{part:02d}.{ext}"\n  max_records: 10'
        )
    )
    report = run_spec(spec)
    parts = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert parts == ["part-01.jsonl", "part-02.jsonl", "part-03.jsonl"]
    assert [len(_jsonl(tmp_path / "out" / p)) for p in parts] == [10, 10, 5]
    assert report.counts["written"] == 25


def test_existing_output_is_never_overwritten_silently(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock_1.csv").write_text("location_code,sku,quantity,lot\nL,S,1,\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "fixed.jsonl").write_text("precious\n")
    spec = write_spec((SPEC % {"ratio": 0}).replace('name: "stock-{run_id}.jsonl"', 'name: "fixed.jsonl"'))
    report = run_spec(spec)
    assert report.exit_code == EXIT_FAILED and "already exists" in report.error
    assert (tmp_path / "out" / "fixed.jsonl").read_text() == "precious\n"
    assert (inbox / "stock_1.csv").exists(), "nothing acknowledged: the file stays for the next run"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["fixed.jsonl"], "no partial file left behind"


def test_an_output_directory_that_cannot_be_created_fails_the_run_cleanly(tmp_path, write_spec, run_spec):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stock_1.csv").write_text("location_code,sku,quantity,lot\nL,S,1,\n")
    (tmp_path / "blocker").write_text("a file where a directory should be")
    spec = write_spec(
        (SPEC % {"ratio": 0}).replace(
            "destination: {type: local, path: out}", "destination: {type: local, path: blocker/out}"
        )
    )
    report = run_spec(spec)
    assert report.exit_code == EXIT_FAILED and "cannot create the output directory" in report.error
    assert (inbox / "stock_1.csv").exists()


PLAIN = b"".join(
    [
        b"location_code,sku,quantity,lot\n",
        b" loc1 ,S1,5,L9\n",
        b"loc2,S2,ten,\n",
        b"loc3,S3\n",  # ragged: this block and the rest go to the row reader
        b"loc4,S4,0012,x\n",
        b",S5,3,\n",
    ]
)
CLEAN = b"location_code,sku,quantity,lot\n" + b"".join(b"loc%d,S%d,%d,\n" % (n, n, n) for n in range(1, 8))


def _outcome(report, out_dir: Path) -> tuple[list, list, dict]:
    outputs = [_jsonl(p) for p in sorted(out_dir.glob("*.jsonl"))]
    rejects = _jsonl(Path(report.rejects_path)) if report.rejects_path else []
    kept = [
        (r["stage"], r["lineage"]["row"], r["lineage"].get("line"), r["reasons"], r["original"])
        for r in rejects
    ]
    return outputs, kept, report.counts


@pytest.mark.parametrize("data", [PLAIN, MESSY, CLEAN], ids=["plain", "messy", "clean"])
def test_the_columnar_and_the_row_path_deliver_and_reject_the_same(tmp_path, write_spec, run_spec, data):
    seen = []
    for columnar in ("true", "false"):
        here = tmp_path / columnar
        (here / "inbox").mkdir(parents=True)
        (here / "inbox" / "stock_1.csv").write_bytes(data)
        spec = write_spec(SPEC % {"ratio": 0.9}, f"{columnar}/spec.yaml")
        overrides = [f"mapping.columnar={columnar}"]
        assert compile_file(spec, overrides=overrides).parser.columnar is (columnar == "true")
        report = run_spec(spec, overrides=overrides)
        assert report.exit_code == EXIT_OK
        seen.append(_outcome(report, here / "out"))
    assert seen[0] == seen[1]
    assert seen[0][0]  # something was delivered


def test_limit_and_resume_on_the_columnar_path_deliver_every_record_once(tmp_path, write_spec, run_spec):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_bytes(CLEAN)
    spec = write_spec(SPEC % {"ratio": 0})
    assert compile_file(spec).parser.columnar
    first = run_spec(spec, limit=3)
    assert first.items[0].status == "partial"
    second = run_spec(spec)
    assert second.items[0].status == "done"
    delivered = [r["skuRef"] for p in sorted((tmp_path / "out").glob("*.jsonl")) for r in _jsonl(p)]
    assert sorted(delivered) == [f"S{n}" for n in range(1, 8)]


def test_a_file_arrow_cannot_read_exactly_says_so_in_the_debug_log(tmp_path, write_spec, run_spec, caplog):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "stock_1.csv").write_bytes(CLEAN + b'loc8,"S,8",8,\n')
    with caplog.at_level("DEBUG", logger="engine"):
        report = run_spec(write_spec(SPEC % {"ratio": 0}))
    assert report.counts["written"] == 8
    said = [r.fields for r in caplog.records if r.getMessage() == "csv read row by row from here"]
    assert len(said) == 1, said
    assert said[0]["file"] == "stock_1.csv" and said[0]["row"] == 1 and "a quote" in said[0]["reason"]
