"""The file target: splitting by records and bytes, partitioning, atomic publication, empty results."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.runtime.report import EXIT_FAILED, EXIT_OK

HEAD = """
version: 1
name: out
source: {type: local, path: inbox, pattern: "*.jsonl"}
parser: {type: jsonl}
"""


@pytest.fixture
def inbox(tmp_path: Path):
    def put(name: str, records: list[dict]) -> None:
        folder = tmp_path / "inbox"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records))

    return put


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(path.read_text())))
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(write_spec, run_spec, target: str, extra: str = ""):
    return run_spec(write_spec(HEAD + extra + "target:\n" + target))


RECORDS = [
    {
        "sku": f"S{i:03d}",
        "status": ["ACTIVE", "INACTIVE", "DRAFT"][i % 3],
        "updatedOn": f"2024-01-{1 + i % 3:02d}T{i % 24:02d}:00:00Z",
        "qty": i,
    }
    for i in range(30)
]


def test_max_records_splits_into_numbered_parts(tmp_path, inbox, write_spec, run_spec) -> None:
    inbox("a.jsonl", RECORDS)
    report = run(
        write_spec,
        run_spec,
        """
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  name: "stock-{part:02d}.{ext}"
  max_records: 12
""",
    )
    out = tmp_path / "out"
    assert files(out) == ["stock-01.jsonl", "stock-02.jsonl", "stock-03.jsonl"]
    assert [len(rows(out / f)) for f in files(out)] == [12, 12, 6]
    assert report.counts["written"] == 30 and report.target == {"files": 3, "records_from_columns": 0}


@pytest.mark.parametrize("writer", ["csv", "jsonl", "json", "xml", "parquet"])
def test_max_bytes_keeps_parts_near_the_limit_and_loses_nothing(
    tmp_path, inbox, write_spec, run_spec, writer
) -> None:
    records = [{"sku": f"S{i:05d}", "note": "x" * (i % 50), "qty": i} for i in range(2000)]
    inbox("a.jsonl", records)
    limit = 20_000
    report = run(
        write_spec,
        run_spec,
        f"""
  type: file
  writer: {{type: {writer}{", row_group_size: 100" if writer == "parquet" else ""}}}
  destination: {{type: local, path: out}}
  max_bytes: 20KB
""",
    )
    assert report.exit_code == EXIT_OK
    out = tmp_path / "out"
    names = files(out)
    sizes = [(out / n).stat().st_size for n in names]
    if writer == "parquet":  # grows by row groups, compressed: parts land near the limit
        assert len(names) > 1 and all(size <= limit * 1.5 for size in sizes), sizes
    else:  # a part is closed as soon as it reaches the limit: less than one record (< 200 bytes) past it
        assert len(names) > 3 and all(limit <= size < limit + 200 for size in sizes[:-1]), sizes
    if writer == "json":
        back = [r for n in names for r in json.loads((out / n).read_text())]
    elif writer == "xml":
        from lxml import etree

        back = [{"sku": e.findtext("sku")} for n in names for e in etree.parse(str(out / n)).getroot()]
    else:
        back = [r for n in names for r in rows(out / n)]
    assert [r["sku"] for r in back] == [r["sku"] for r in records]


def test_partitions_by_field_into_key_value_folders(tmp_path, inbox, write_spec, run_spec) -> None:
    inbox("a.jsonl", RECORDS)
    report = run(
        write_spec,
        run_spec,
        """
  type: file
  writer: {type: csv}
  destination: {type: local, path: out}
  name: "stock-{part}.{ext}"
  partition_by: {field: status}
""",
    )
    out = tmp_path / "out"
    assert files(out) == [
        "status=ACTIVE/stock-1.csv",
        "status=DRAFT/stock-1.csv",
        "status=INACTIVE/stock-1.csv",
    ]
    assert [r["sku"] for r in rows(out / "status=ACTIVE/stock-1.csv")] == [
        f"S{i:03d}" for i in range(0, 30, 3)
    ]
    assert report.counts["written"] == 30


def test_partitions_by_date_levels_and_the_partition_placeholder(
    tmp_path, inbox, write_spec, run_spec
) -> None:
    inbox("a.jsonl", RECORDS[:6])
    run(
        write_spec,
        run_spec,
        """
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  name: "positions/{partition}/part-{part:03d}.{ext}"
  partition_by:
    - {field: updatedOn, date: "%Y/%m/%d", style: value}
    - {field: status, name: state}
""",
    )
    assert files(tmp_path / "out") == [
        "positions/2024/01/01/state=ACTIVE/part-001.jsonl",
        "positions/2024/01/02/state=INACTIVE/part-001.jsonl",
        "positions/2024/01/03/state=DRAFT/part-001.jsonl",
    ]


def test_partition_values_are_made_safe_and_bad_dates_reject_their_record(
    tmp_path, inbox, write_spec, run_spec
) -> None:
    inbox(
        "a.jsonl",
        [
            {"k": "a/b"},
            {"k": ".."},
            {"k": None},
            {"k": "x=y:z%"},
            {"k": "ok"},
            {},
            {"k": "2024-01-01", "d": "yesterday"},
            {"k": "n", "d": "2024-01-31T23:30:00-05:00"},
        ],
    )
    report = run(
        write_spec,
        run_spec,
        """
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  partition_by: [{field: k}, {field: d, name: day, date: "%Y-%m-%d"}]
""",
        "on_error: {max_rejects: 1}\n",
    )
    folders = sorted({f.rsplit("/", 1)[0] for f in files(tmp_path / "out")})
    assert folders == [
        "k=%2E%2E/day=__HIVE_DEFAULT_PARTITION__",
        "k=__HIVE_DEFAULT_PARTITION__/day=__HIVE_DEFAULT_PARTITION__",
        "k=a%2Fb/day=__HIVE_DEFAULT_PARTITION__",
        "k=n/day=2024-02-01",
        "k=ok/day=__HIVE_DEFAULT_PARTITION__",
        "k=x%3Dy%3Az%25/day=__HIVE_DEFAULT_PARTITION__",
    ]
    rejects = [json.loads(line) for line in Path(report.rejects_path).read_text().splitlines()]
    assert [r["reasons"] for r in rejects] == [
        ["d: 'yesterday' is not a date or time (partition_by expects ISO-8601 such as 2024-01-31T10:00:00Z)"]
    ]
    assert report.counts["written"] == 7 and report.counts["rejected"]["target"] == 1


def test_open_files_are_bounded_and_partitions_continue_in_new_parts(
    tmp_path, inbox, write_spec, run_spec, monkeypatch
) -> None:
    from engine.targets import file as file_target

    peak = {"open": 0}
    original = file_target.FileTarget._output

    def spy(self, key, item):
        out = original(self, key, item)
        peak["open"] = max(peak["open"], len(self.open_files))
        return out

    monkeypatch.setattr(file_target.FileTarget, "_output", spy)
    inbox("a.jsonl", RECORDS)  # statuses cycle ACTIVE, INACTIVE, DRAFT; one record per chunk
    report = run_spec(
        write_spec(
            HEAD.replace("{type: jsonl}", "{type: jsonl, chunk_size: 1}")
            + """target:
  type: file
  writer: {type: parquet, schema: {sku: string, status: string, updatedOn: "timestamp[s, UTC]", qty: int64}}
  destination: {type: local, path: out}
  partition_by: {field: status}
  max_open_files: 2
"""
        )
    )
    assert peak["open"] == 2
    out = tmp_path / "out"
    names = files(out)
    assert len(names) == 30, "each record arrives after its partition's file was closed: one part each"
    back = sorted((r["sku"], n.split("/")[0]) for n in names for r in rows(out / n))
    assert back == sorted((r["sku"], f"status={r['status']}") for r in RECORDS)
    assert report.counts["written"] == 30


def test_a_failing_run_publishes_nothing_and_leaves_no_temporary_files(
    tmp_path, inbox, write_spec, run_spec, monkeypatch
) -> None:
    from engine.errors import SourceError
    from engine.sources.local import LocalSource

    inbox("a.jsonl", RECORDS[:10])
    inbox("b.jsonl", RECORDS[10:])
    original = LocalSource.read

    def read(self, item):
        if item.name == "b.jsonl":
            raise SourceError("b.jsonl: the disk went away")
        return original(self, item)

    monkeypatch.setattr(LocalSource, "read", read)
    target = """
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  max_records: 3
"""
    report = run(write_spec, run_spec, target)
    assert report.exit_code == EXIT_FAILED and "the disk went away" in report.error
    assert files(tmp_path / "out") == [], "three parts of a.jsonl were complete, none is published"
    assert report.counts["written"] == 0
    monkeypatch.setattr(LocalSource, "read", original)
    report = run_spec(write_spec(HEAD + "target:\n" + target), limit=7)
    assert report.status == "stopped" and files(tmp_path / "out") == [], (
        "a stopped run publishes nothing either"
    )


def test_per_item_output_of_a_file_that_failed_is_discarded(tmp_path, inbox, write_spec, run_spec) -> None:
    inbox("a.jsonl", RECORDS[:5])
    (tmp_path / "inbox" / "b.json").write_text('[{"sku": "B1"}, {"sku": "B2"}, {"sku": ')
    inbox("c.jsonl", RECORDS[5:8])
    spec = write_spec("""
version: 1
name: out
source: {type: local, path: inbox, pattern: "*.json*"}
parser: {type: json}
target:
  type: file
  per: item
  writer: csv
  destination: {type: local, path: out}
""")
    (tmp_path / "inbox" / "a.jsonl").write_text(json.dumps(RECORDS[:5]))
    (tmp_path / "inbox" / "c.jsonl").write_text(json.dumps(RECORDS[5:8]))
    report = run_spec(spec)
    assert files(tmp_path / "out") == ["a.csv", "c.csv"]
    assert [i.status for i in report.items] == ["done", "failed", "done"]
    assert report.counts["written"] == 8


def test_empty_results(tmp_path, write_spec, run_spec) -> None:
    (tmp_path / "inbox").mkdir()
    spec = """
  type: file
  writer: %s
  destination: {type: local, path: out}
  name: "empty.{ext}"
  write_empty: true
"""
    for writer in (
        "{type: csv, columns: [sku, qty]}",
        "{type: parquet, schema: {sku: string, qty: int64}}",
        "{type: json, layout: object}",
        "xml",
    ):
        report = run_spec(write_spec(HEAD + "target:\n" + spec % writer))
        assert report.exit_code == EXIT_OK
    out = tmp_path / "out"
    assert (out / "empty.csv").read_text() == "sku,qty\n"
    assert pq.ParquetFile(out / "empty.parquet").metadata.num_rows == 0
    assert json.loads((out / "empty.json").read_text())["records"] == []
    assert (out / "empty.xml").read_text().endswith("<records></records>\n")
    (out / "empty.parquet").unlink()
    report = run_spec(write_spec(HEAD + "target:\n" + spec % "parquet"))
    assert report.exit_code == EXIT_OK and not (out / "empty.parquet").exists(), "no schema: no file"


@pytest.mark.parametrize(
    "options,where,message",
    [
        (
            {"max_bytes": 1_000_000, "name": "fixed.csv"},
            ("name",),
            "with max_bytes, the name needs a {part} placeholder",
        ),
        (
            {"partition_by": {"field": "status"}, "name": "fixed.csv"},
            ("name",),
            "with partition_by, the name needs",
        ),
        (
            {"name": "{partition}-{part}.csv"},
            ("name",),
            "the name uses {partition} but partition_by is not set",
        ),
        (
            {"name": "out-{prat}.csv"},
            ("name",),
            "unknown placeholder {prat} in 'out-{prat}.csv' (did you mean 'part'?)",
        ),
        ({"partition_by": {"field": "a[0"}}, ("partition_by", "field"), "malformed path 'a[0'"),
        (
            {"partition_by": [{"field": "a"}, {"field": "b[x"}]},
            ("partition_by", 1, "field"),
            "malformed path 'b[x'",
        ),
    ],
)
def test_target_mistakes_are_reported_at_their_option(options, where, message) -> None:
    from engine.destinations.local import LocalDestination, LocalDestinationOptions
    from engine.targets.file import FileOptions, FileTarget
    from engine.writers.csv import CsvWriter

    base = {
        "writer": CsvWriter(None),
        "destination": LocalDestination(LocalDestinationOptions("out", "fail", "umask")),
        "name": None,
        "per": "run",
        "max_records": None,
        "max_bytes": None,
        "partition_by": None,
        "max_open_files": 32,
        "write_empty": False,
    }
    [(path, text)] = FileTarget(FileOptions(**{**base, **options})).problems()
    assert path == where and text.startswith(message), text


def test_validate_reports_every_format_mistake_at_once_with_its_line(tmp_path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("""version: 1
name: bad
source: {type: local, path: in}
parser: {type: xml, records: "a/b[1]", max_element_bytes: 10}
target:
  type: file
  writer: {type: parquet, schema: {qty: integer64, at: "timestamp[min]"}}
  destination: {type: local, path: out}
  name: fixed.parquet
  partition_by: {field: status, date: "%Y"}
""")
    result = cli("validate", "bad.yaml")
    assert result.exit_code == 2
    assert result.output.splitlines()[:5] == [
        "bad.yaml:4:30 parser.records: malformed records path 'a/b[1]': 'b[1]' is not an element name or *",
        "bad.yaml:4:59 parser.max_element_bytes: must be at least 64KiB (it is measured to within 64 KiB)",
        "bad.yaml:7:41 target.writer.schema.qty: unknown type 'integer64' in 'integer64' (did you mean 'integer'?)",
        "bad.yaml:7:56 target.writer.schema.at: timestamp unit is one of s, ms, us, ns at character 15 of type "
        "'timestamp[min]'",
        "bad.yaml:9:9 target.name: with partition_by, the name needs a {part} placeholder (e.g. out-{part:03d}.csv)",
    ]


def test_destinations_that_copy_leave_no_local_temporary_files(
    tmp_path, inbox, write_spec, run_spec, monkeypatch
) -> None:
    import shutil

    from engine.destinations.local import LocalDestination

    def copy(self, local_path, name, run):  # like S3 or SFTP: upload a copy, leave the local file
        dest = self.root / "copies" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local_path, dest)
        return str(dest)

    monkeypatch.setattr(LocalDestination, "publish", copy)
    inbox("a.jsonl", RECORDS)
    run(
        write_spec,
        run_spec,
        """
  type: file
  writer: jsonl
  destination: {type: local, path: out}
  partition_by: {field: status}
""",
    )
    assert [f.split("/", 1)[0] for f in files(tmp_path / "out")] == ["copies"] * 3
