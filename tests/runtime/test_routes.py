"""Routes end to end: records reach the first matching route or every one, with their own mappings and targets."""

from __future__ import annotations

import io
import json
from pathlib import Path

from engine.runtime.report import EXIT_REJECTS

ROWS = b"sku,qty,kind\nA,1,xd\nB,2,std\nC,x,std\nD,4,odd\nE,5,xd\n"


def spec_text(routing: str, *, otherwise: bool = False) -> str:
    rest = (
        """
  - name: rest
    otherwise: true
    target: {type: file, writer: jsonl, destination: {type: local, path: out/rest}, name: "r-{run_id}.jsonl"}
"""
        if otherwise
        else ""
    )
    return f"""
version: 1
name: routed
source: {{type: local, path: inbox, on_success: {{move_to: "done/{{name}}"}}}}
parser: {{type: csv}}
routing: {routing}
routes:
  - name: crossdock
    when: "record.kind == 'xd'"
    mapping:
      fields:
        ref: {{source: sku}}
        route: {{value: XD}}
    target: {{type: file, writer: jsonl, destination: {{type: local, path: out/xd}}, name: "xd-{{run_id}}.jsonl"}}
  - name: receipt
    when: "record.kind != 'odd'"
    mapping:
      fields:
        ref: {{source: sku}}
        qty: {{source: qty, resolver: int}}
    target: {{type: file, writer: jsonl, destination: {{type: local, path: out/rc}}, name: "rc-{{run_id}}.jsonl"}}
{rest}
on_error: {{max_reject_ratio: 1}}
"""


def _jsonl(path: Path) -> list[dict]:
    if path.suffix != ".jsonl":  # an output directory: its one file
        (path,) = path.iterdir()
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _setup(tmp_path: Path, write_spec, routing: str, *, otherwise: bool = False) -> Path:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "in.csv").write_bytes(ROWS)
    return write_spec(spec_text(routing, otherwise=otherwise))


def test_first_route_takes_each_record_and_a_record_no_route_takes_is_rejected(
    tmp_path, write_spec, run_spec
):
    report = run_spec(_setup(tmp_path, write_spec, "first"))
    assert report.status == "ok"
    assert _jsonl(tmp_path / "out/xd") == [{"ref": "A", "route": "XD"}, {"ref": "E", "route": "XD"}]
    assert _jsonl(tmp_path / "out/rc") == [{"ref": "B", "qty": 2}]
    rejects = _jsonl(Path(report.rejects_path))
    by_row = {r["lineage"]["row"]: r for r in rejects}
    assert by_row[3]["route"] == "receipt" and by_row[3]["stage"] == "mapping"
    assert by_row[3]["reasons"] == ["route receipt: qty: 'x' is not an integer (resolver int, source qty)"]
    assert by_row[4]["stage"] == "route" and "route" not in by_row[4]
    assert by_row[4]["reasons"][0].startswith("no route took the record (routes: crossdock, receipt)")
    assert by_row[4]["lineage"]["file"] == "in.csv" and by_row[4]["original"]["sku"] == "D"
    assert report.routes == {
        "crossdock": {
            "routed": 2,
            "mapped": 2,
            "written": 2,
            "rejected": {"mapping": 0, "target": 0, "total": 0},
        },
        "receipt": {
            "routed": 2,
            "mapped": 1,
            "written": 1,
            "rejected": {"mapping": 1, "target": 0, "total": 1},
        },
    }
    assert report.counts["read"] == 5 and report.counts["rejected"]["route"] == 1
    text = report.render_text()
    assert "route    receipt: 2 routed, 1 mapped, 1 written, 1 rejected" in text
    assert "target   crossdock: 1 file published" in text
    assert (tmp_path / "inbox/done/in.csv").exists()  # the file commits once every route settled


def test_routing_all_fans_a_record_out_to_every_route_that_takes_it(tmp_path, write_spec, run_spec):
    report = run_spec(_setup(tmp_path, write_spec, "all", otherwise=True))
    assert [r["ref"] for r in _jsonl(tmp_path / "out/xd")] == ["A", "E"]
    assert [r["ref"] for r in _jsonl(tmp_path / "out/rc")] == ["A", "B", "E"]
    assert _jsonl(tmp_path / "out/rest") == [{"sku": "D", "qty": "4", "kind": "odd"}]
    assert report.routes["receipt"]["routed"] == 4 and report.routes["rest"]["written"] == 1
    assert report.counts["rejected"]["route"] == 0


def test_replaying_a_route_s_rejects_sends_them_to_that_route_alone(tmp_path, write_spec, run_spec):
    spec = _setup(tmp_path, write_spec, "all")
    report = run_spec(spec)
    rejects = Path(report.rejects_path)
    fixed = tmp_path / "fixed.jsonl"
    lines = []
    for entry in _jsonl(rejects):
        if entry["original"]["qty"] == "x":
            entry["original"]["qty"] = "3"
        lines.append(json.dumps(entry))
    fixed.write_text("\n".join(lines) + "\n")
    again = run_spec(spec, replay=fixed, route="receipt")
    assert again.status == "ok", (again.error, [i.reason for i in again.items])
    assert again.routes["receipt"]["written"] == 1 and again.routes["crossdock"]["routed"] == 0
    replayed = sorted((tmp_path / "out/rc").glob("*.jsonl"))
    assert [r for p in replayed for r in _jsonl(p) if r["ref"] == "C"] == [{"ref": "C", "qty": 3}]
    assert again.counts["read"] == 1  # the unrouted record D is not this route's reject


def test_a_dry_run_prints_each_record_with_the_route_it_took(tmp_path, write_spec, run_spec):
    out = io.StringIO()
    report = run_spec(_setup(tmp_path, write_spec, "first"), dry_run=True, out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"route": "crossdock", "record": {"ref": "A", "route": "XD"}} in lines
    assert {"route": "receipt", "record": {"ref": "B", "qty": 2}} in lines
    assert not (tmp_path / "out").exists() and report.exit_code in (0, EXIT_REJECTS)


def test_route_option_needs_replay_and_a_known_route(tmp_path, write_spec, cli):
    spec = _setup(tmp_path, write_spec, "first")
    result = cli("run", str(spec), "--route", "receipt")
    assert result.exit_code == 2 and "--route receipt: needs --replay" in result.output
    rejects = tmp_path / "r.jsonl"
    rejects.write_text("")
    result = cli("run", str(spec), "--replay", str(rejects), "--route", "reciept")
    assert result.exit_code == 2 and "did you mean 'receipt'" in result.output
    result = cli("run", str(spec), "--step", "create")
    assert result.exit_code == 2 and "--step create: needs --replay" in result.output
    result = cli("run", str(spec), "--replay", str(rejects), "--step", "create")
    assert result.exit_code == 2 and "--step create: names no step of the spec" in result.output


def test_workers_add_up_the_counts_of_each_route(tmp_path, write_spec, cli):
    spec = _setup(tmp_path, write_spec, "all", otherwise=True)
    (tmp_path / "inbox" / "in2.csv").write_bytes(ROWS)
    result = cli("run", str(spec), "--quiet", "--format", "json", "--workers", "2")
    report = json.loads(result.stdout)
    assert report["target"]["workers"] == 2
    assert report["routes"]["receipt"]["routed"] == 8 and report["routes"]["rest"]["written"] == 2
    assert report["routes"]["receipt"]["rejected"]["mapping"] == 2


def test_a_route_with_steps_beside_a_plain_route_counts_each_step(tmp_path, write_spec, run_spec):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "in.csv").write_bytes(ROWS)

    def out(name: str) -> str:
        return f'{{type: file, writer: jsonl, destination: {{type: local, path: out/{name}}}, name: "{name}.jsonl"}}'

    spec = write_spec(f"""
version: 1
name: mixed
source: {{type: local, path: inbox}}
parser: {{type: csv}}
routing: all
routes:
  - name: archive
    target: {out("archive")}
  - name: chain
    when: "record.kind != 'odd'"
    steps:
      - name: first
        mapping: {{fields: {{sku: {{source: sku}}, qty: {{source: qty, resolver: int}}}}}}
        target: {out("first")}
      - name: second
        when: "steps.first.outcome == 'succeeded' && record.kind == 'xd'"
        mapping: {{fields: {{sku: {{source: sku}}, before: {{source: $steps.first.outcome}}}}}}
        target: {out("second")}
      - name: undo
        after: failed
        mapping: {{fields: {{sku: {{source: sku}}}}}}
        target: {out("undo")}
on_error: {{max_reject_ratio: 1}}
""")
    report = run_spec(spec)
    assert len(_jsonl(tmp_path / "out/archive")) == 5
    assert [r["sku"] for r in _jsonl(tmp_path / "out/first")] == ["A", "B", "E"]
    assert _jsonl(tmp_path / "out/second") == [
        {"sku": "A", "before": "succeeded"},
        {"sku": "E", "before": "succeeded"},
    ]
    assert _jsonl(tmp_path / "out/undo") == [{"sku": "C"}]
    assert set(report.routes) == {"archive", "chain.first", "chain.second", "chain.undo"}
    assert (
        report.routes["chain.first"]["rejected"]["mapping"] == 1
        and report.routes["chain.second"]["routed"] == 2
    )
    (reject,) = _jsonl(Path(report.rejects_path))
    assert (reject["route"], reject["step"], reject["lineage"]["row"]) == ("chain", "first", 3)


def test_explain_shows_each_route_and_step_with_its_defaults(tmp_path, write_spec, cli):
    import yaml

    spec = write_spec("""
version: 1
name: explained
source: {type: local, path: inbox}
parser: {type: csv}
routes:
  - name: only
    steps:
      - name: first
        target: {type: file, writer: jsonl, destination: {type: local, path: out}}
      - name: undo
        after: failed
        target: {type: stdout}
""")
    result = cli("explain", str(spec))
    assert result.exit_code == 0, result.output
    out = yaml.safe_load(result.output)
    assert out["routing"] == "first" and "target" not in out
    (route,) = out["routes"]
    assert route["otherwise"] is False
    first, undo = route["steps"]
    assert first["after"] == "succeeded" and undo["after"] == "failed"
    assert first["target"]["destination"]["if_exists"]  # the target's own defaults are filled in too


def test_a_routed_file_is_read_whole_even_when_workers_could_split_it(tmp_path, write_spec, cli):
    (tmp_path / "inbox").mkdir()
    rows = "".join(f"S{i},{i},{'xd' if i % 2 else 'std'}\n" for i in range(3000))
    (tmp_path / "inbox" / "big.csv").write_text("sku,qty,kind\n" + rows)
    text = spec_text("first").replace(
        "on_error:", "executor: {type: processes, workers: 2, split_size: 10KB}\non_error:"
    )
    result = cli("run", str(write_spec(text)), "--quiet", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    (big,) = report["items"]
    assert big["status"] == "done" and not (big["reason"] or "").startswith("read in")
    assert report["routes"]["crossdock"]["written"] == 1500 and report["routes"]["receipt"]["written"] == 1500
