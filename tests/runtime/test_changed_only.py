"""state.changed_only: only what changed is sent; values are stored only once acknowledged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.emulator import Emulator
from engine.runtime.report import EXIT_OK

SPEC = """
version: 1
name: channel-sync
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "done/{run_id}-{name}"}}
parser: {type: csv}
mapping:
  fields:
    skuRef: {source: sku}
    locationRef: {source: loc}
    qty: {source: qty, resolver: int}
    seen: {source: seen}
target: {type: file, writer: jsonl, destination: {type: local, path: out}, name: "{run_id}.jsonl"}
state:
  dedupe: none
  changed_only: {key: [skuRef, locationRef], fields: [qty], namespace: channel}
"""


def drop(tmp_path: Path, quantities: dict[tuple[str, str], int], seen: str = "x") -> None:
    (tmp_path / "inbox").mkdir(exist_ok=True)
    rows = "".join(f"{s},{loc},{q},{seen}\n" for (s, loc), q in quantities.items())
    (tmp_path / "inbox" / "stock.csv").write_text("sku,loc,qty,seen\n" + rows)


def sent(report) -> int:
    return report.counts["written"]


def test_a_thousand_then_none_then_exactly_the_37_changed(tmp_path, write_spec, run_spec) -> None:
    spec = write_spec(SPEC)
    stock = {(f"S{i:04d}", f"L{i % 4}"): i % 50 for i in range(1000)}
    drop(tmp_path, stock)
    first = run_spec(spec)
    assert first.exit_code == EXIT_OK and sent(first) == 1000 and first.counts["unchanged"] == 0
    drop(tmp_path, stock, seen="y")  # other fields differ: only qty is compared
    second = run_spec(spec)
    assert sent(second) == 0 and second.counts["unchanged"] == 1000
    changed = dict(list(stock.items())[::27][:37])
    stock.update({k: v + 1 for k, v in changed.items()})
    drop(tmp_path, stock)
    third = run_spec(spec)
    assert sent(third) == 37 and third.counts["unchanged"] == 963
    out = [json.loads(x) for x in (tmp_path / "out" / f"{third.run_id}.jsonl").read_text().splitlines()]
    assert {(r["skuRef"], r["locationRef"]): r["qty"] for r in out} == {k: stock[k] for k in changed}


def test_full_sends_everything_and_dry_run_stores_nothing(tmp_path, write_spec, run_spec) -> None:
    spec = write_spec(SPEC)
    stock = {("A", "L1"): 1, ("B", "L1"): 2}
    drop(tmp_path, stock)
    assert sent(run_spec(spec)) == 2
    drop(tmp_path, stock)
    assert sent(run_spec(spec, full=True)) == 2
    stock[("A", "L1")] = 5
    drop(tmp_path, stock)
    import io

    out = io.StringIO()
    dry = run_spec(spec, dry_run=True, out=out)
    assert [json.loads(x)["qty"] for x in out.getvalue().splitlines()] == [5]
    assert dry.counts["unchanged"] == 1
    assert sent(run_spec(spec)) == 1, "the dry run stored nothing: the change is still to send"


def test_values_expire_and_engine_state_shows_and_clears_them(tmp_path, write_spec, run_spec, cli) -> None:
    spec = write_spec(SPEC)
    drop(tmp_path, {("A", "L1"): 1})
    run_spec(spec)
    shown = cli("state", "values", str(spec))
    assert "namespace channel: 1 value(s) shown" in shown.output and '["A","L1"] = {"qty":1}' in shown.output
    cleared = cli("state", "clear", str(spec), "--namespace", "channel", "--yes")
    assert "cleared 1 stored value(s)" in cleared.output
    drop(tmp_path, {("A", "L1"): 1})
    assert sent(run_spec(spec)) == 1


HTTP_SPEC = """
version: 1
name: channel-rest
connections:
  api: {type: http, base_url: "%(url)s", retry: {max_attempts: 1}}
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "done/{run_id}-{name}"}}
parser: {type: csv}
mapping:
  fields:
    ref: {expr: "join('-', [record.sku, record.loc])"}
    qty: {source: qty, resolver: int}
target: {type: http, connection: api, method: PUT, path: "/items/{ref}"}
state:
  dedupe: none
  changed_only: {key: [ref], fields: [qty]}
on_error: {max_reject_ratio: 1}
"""


def test_a_record_the_target_refuses_is_sent_again_next_time(tmp_path, write_spec, run_spec) -> None:
    from tests.http.server import ApiServer

    api = ApiServer().start()
    try:
        spec = write_spec(HTTP_SPEC % {"url": api.url})
        drop(tmp_path, {("A", "L1"): 1, ("BAD", "L1"): 2})
        api.fail("/items/BAD-L1", 422, times=1)
        first = run_spec(spec)
        assert sent(first) == 1 and first.counts["rejected"]["target"] == 1
        drop(tmp_path, {("A", "L1"): 1, ("BAD", "L1"): 2})
        second = run_spec(spec)
        assert sent(second) == 1 and second.counts["unchanged"] == 1, "only the refused record goes again"
        assert api.items["BAD-L1"] == {"ref": "BAD-L1", "qty": 2}
    finally:
        api.stop()


BATCH_SPEC = """
version: 1
name: channel-batch
connections:
  fluent: %(conn)s
source: {type: local, path: inbox, pattern: "*.csv", on_success: {move_to: "done/{run_id}-{name}"}}
parser: {type: csv, chunk_size: 20}
mapping:
  fields:
    skuRef: {source: sku}
    locationRef: {source: loc}
    qty: {source: qty, resolver: int}
    type: {value: LAST_ON_HAND}
target:
  type: fluent.batch
  connection: fluent
  batch_size: 10
  max_in_flight: 1
  poll: {interval: 20ms, max_interval: 100ms}
state:
  dedupe: none
  changed_only: {key: [skuRef, locationRef], fields: [qty]}
"""


def test_a_change_killed_between_send_and_acknowledgement_is_sent_by_the_rerun(tmp_path, write_spec) -> None:
    with Emulator(settings={"batch_polls_per_step": 1}) as emu:
        c = emu.credentials
        conn = json.dumps(
            {
                "type": "fluent",
                "base_url": emu.url,
                **{k: c[k] for k in ("client_id", "client_secret", "username", "password")},
                "retailer_id": c["retailer_id"],
            }
        )
        spec = write_spec(BATCH_SPEC % {"conn": conn})
        positions = sorted((p["productRef"], p["locationRef"]) for p in emu.store.inventory_positions)[:40]
        stock = {k: 10 for k in positions}
        drop(tmp_path, stock)
        env = {**os.environ, "ENGINE_STATE_DIR": str(tmp_path / "state")}
        cmd = [sys.executable, "-m", "engine", "run", str(spec), "--quiet", "--format", "json"]
        assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
        changed = positions[5:30]
        stock.update({k: 77 for k in changed})
        drop(tmp_path, stock)
        killed = subprocess.run(
            cmd, env={**env, "ENGINE_FAILPOINTS": "batch.after_post=2"}, capture_output=True
        )
        assert killed.returncode == -9
        rerun = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        emu.tick()
        on_hand = {(p["productRef"], p["locationRef"]): p["onHand"] for p in emu.store.inventory_positions}
        assert all(on_hand[k] == 77 for k in changed), "no change was lost"
        drop(tmp_path, stock)
        again = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True).stdout)
        assert again["records"]["written"] == 0 and again["records"]["unchanged"] == 40
