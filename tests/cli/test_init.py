"""engine init drafts a spec that validates and passes its own test as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main


@pytest.mark.parametrize(
    "name,content",
    [
        (
            "stock.csv",
            "Location Code,SKU,Qty On Hand,Updated,Price\nLOC-1,00123,5,2026-01-05T10:00:00Z,1.50\n"
            "LOC-2,00124,7,2026-01-06T11:00:00Z,2.00\n",
        ),
        (
            "orders.json",
            json.dumps(
                [
                    {"ref": "O1", "customer": {"name": "Ann"}, "lines": [{"sku": "A", "qty": "2"}]},
                    {"ref": "O2", "customer": {"name": "Bo"}, "lines": [{"sku": "B", "qty": "1"}]},
                ]
            ),
        ),
        ("events.jsonl", '{"id": "e1", "n": "3"}\n{"id": "e2", "n": "4"}\n'),
        (
            "orders.xml",
            '<Orders><Order no="O1"><Lines><Line sku="A"><Qty>2</Qty></Line><Line sku="B"><Qty>1</Qty>'
            '</Line></Lines></Order><Order no="O2"><Lines><Line sku="C"><Qty>3</Qty></Line></Lines></Order>'
            "</Orders>",
        ),
    ],
)
def test_a_drafted_spec_validates_and_its_test_passes(tmp_path: Path, cli, name: str, content: str) -> None:
    sample = tmp_path / "samples" / name
    sample.parent.mkdir()
    sample.write_text(content)
    spec = tmp_path / "draft.yaml"
    result = cli("init", "--from", str(sample), "-o", str(spec))
    assert result.exit_code == 0, result.output
    assert cli("validate", str(spec)).exit_code == 0
    assert cli("test", str(spec)).exit_code == 0
    data = yaml.safe_load(spec.read_text())
    assert data["source"]["path"] == "samples"


def test_guessed_resolvers_keep_leading_zeros_as_text(tmp_path: Path, cli) -> None:
    sample = tmp_path / "s.csv"
    sample.write_text("gtin,qty,when\n01234567890128,5,2026-01-05T10:00:00Z\n")
    out = yaml.safe_load(cli("init", "--from", str(sample)).stdout)
    fields = out["mapping"]["fields"]
    assert "resolver" not in fields["gtin"] and fields["qty"]["resolver"] == "int"
    assert fields["when"]["resolver"] == "datetime"


def test_init_list_shows_every_scenario_with_its_connector_and_status(cli) -> None:
    result = cli("init", "--list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    [row] = [x for x in lines if x.startswith("template-ingestion-s3-xml-inventory-batch ")]
    assert row.split()[1:] == ["inventory-s3-xml-batch", "working"]
    [missing] = [x for x in lines if x.startswith("template-ingestion-multi-channel-inventory-sync ")]
    assert missing.split()[1] == "-" and "missing: needs several sources merged" in missing
    [partial] = [x for x in lines if x.startswith("business-examples-dropship-order-routing ")]
    assert partial.split()[1:3] == ["webhook-dropship-routing", "partial:"]
    assert "scenarios are working connectors" in result.output


def test_init_template_copies_a_connector_renamed_ready_to_edit(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "--template", "template-ingestion-s3-xml-inventory-batch", "--name", "wms-xml")
    assert result.exit_code == 0, result.output
    spec = tmp_path / "wms-xml" / "wms-xml.yaml"
    assert yaml.safe_load(spec.read_text())["name"] == "wms-xml"
    assert (tmp_path / "wms-xml" / "data" / "inventory_2026-01-05.xml").exists()
    assert not (tmp_path / "wms-xml" / "inventory-s3-xml-batch.yaml").exists()
    assert cli("validate", "wms-xml").exit_code == 0
    tested = cli("test", "wms-xml")
    assert tested.exit_code == 0 and "2 passed, 0 failed" in tested.output


def test_init_template_by_folder_name_keeps_its_name(tmp_path: Path, cli) -> None:
    out = tmp_path / "copy"
    assert cli("init", "--template", "quickstart", "-o", str(out)).exit_code == 0
    assert (out / "quickstart.yaml").exists() and (out / "data").is_dir()
    again = CliRunner().invoke(main, ["init", "--template", "quickstart", "-o", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_init_template_refuses_a_scenario_without_a_connector_naming_what_is_missing(cli) -> None:
    result = CliRunner().invoke(main, ["init", "--template", "business-examples-pre-order-allocation"])
    assert (
        result.exit_code == 1
        and "no connector yet (missing: needs allocation across records" in result.output
    )
    unknown = CliRunner().invoke(main, ["init", "--template", "nothing-like-it"])
    assert unknown.exit_code == 1 and "not in the catalogue" in unknown.output


def test_init_needs_exactly_one_of_from_template_list(cli) -> None:
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 2 and "give one of --from SAMPLE, --template NAME or --list" in result.output


def test_the_whole_library_validates_and_passes_its_tests(cli) -> None:
    library = Path(__file__).resolve().parents[2] / "connectors"
    validated = cli("validate", str(library))
    assert validated.exit_code == 0
    assert f"{library}/inventory-s3-xml-batch/inventory-s3-xml-batch.yaml: ok" in validated.output
    tested = cli("test", str(library))
    assert tested.exit_code == 0 and " 0 failed" in tested.output
    assert "fixtures" not in tested.output and "/data/" not in tested.output


STOCK = (
    "store,sku,onHand\nLOC-001,SKU-0001,12\nLOC-001,SKU-0002,0\nLOC-002,SKU-0004,31\nLOC-003,SKU-0005,7\n"
    "LOC-004,SKU-0008,44\nLOC-005,SKU-0010,9\nLOC-006,SKU-0012,21\nLOC-007,SKU-0014,8\n"
)


def test_the_old_style_draft_fails_naming_what_the_batch_api_requires(tmp_path: Path, cli) -> None:
    spec = tmp_path / "old.yaml"
    spec.write_text(
        "version: 1\nname: stock\nconnections: {fluent: {type: fluent, base_url: embedded}}\n"
        "source: {type: local, path: data, pattern: '*.csv'}\nparser: {type: csv}\n"
        "mapping: {fields: {store: {source: store}, sku: {source: sku}, onHand: {source: onHand, resolver: int}}}\n"
        "target: {type: fluent.batch, connection: fluent}\n"
    )
    result = cli("validate", str(spec))
    assert result.exit_code == 2
    assert (
        "old.yaml:6:11 mapping.fields: InventoryBatchEntity requires locationRef (String!), skuRef (String!), "
        "qty (Int!)" in result.output
    )


def test_init_for_a_target_drafts_its_fields_and_the_draft_runs_with_no_refusals(
    tmp_path: Path, cli, run_spec
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "stock.csv").write_text(STOCK)
    spec = tmp_path / "stock.yaml"
    result = cli(
        "init", "--from", str(tmp_path / "data" / "stock.csv"), "--target", "fluent.batch", "-o", str(spec)
    )
    assert result.exit_code == 0, result.output
    fields = yaml.safe_load(spec.read_text())["mapping"]["fields"]
    assert fields == {
        "locationRef": {"source": "store", "required": True},
        "skuRef": {"source": "sku", "required": True},
        "qty": {"source": "onHand", "resolver": "int", "required": True},
    }
    assert cli("validate", str(spec)).exit_code == 0
    assert cli("test", str(spec)).exit_code == 0
    report = run_spec(spec)
    assert report.status == "ok", report.error
    assert report.counts["written"] == 8 and sum(report.counts["rejected"].values()) == 0


def test_a_required_field_nothing_resembles_is_named_and_the_draft_kept(tmp_path: Path, cli) -> None:
    sample = tmp_path / "s.csv"
    sample.write_text("store,sku,colour\nLOC-001,SKU-0001,red\n")
    spec = tmp_path / "s.yaml"
    result = cli("init", "--from", str(sample), "--target", "fluent.batch", "-o", str(spec))
    assert "the draft needs 1 change(s) before it validates" in result.output
    assert "InventoryBatchEntity requires qty (Int!)" in result.output
    assert "not mapped (no InventoryBatchEntity field looks like them): colour" in result.output
    assert set(yaml.safe_load(spec.read_text())["mapping"]["fields"]) == {"locationRef", "skuRef"}
    assert cli("validate", str(spec)).exit_code == 2


@pytest.mark.parametrize(
    ("field", "column", "like"),
    [
        ("locationRef", "Location Code", True),
        ("locationRef", "store_id", True),
        ("skuRef", "Product", True),
        ("qty", "Qty On Hand", True),
        ("qty", "available", True),
        ("locationRef", "sku", False),
        ("qty", "price", False),
    ],
)
def test_columns_are_matched_to_fields_by_name_similarity(field: str, column: str, like: bool) -> None:
    from engine.cli.init_target import CUTOFF, similarity

    assert (similarity(field, column) >= CUTOFF) is like


def test_an_enum_field_takes_a_column_only_when_its_values_fit(tmp_path: Path, cli) -> None:
    sample = tmp_path / "s.csv"
    sample.write_text("location,sku,qty,type\nL1,A,1,STORE\n")
    fields = yaml.safe_load(cli("init", "--from", str(sample), "--target", "fluent.batch").stdout)["mapping"][
        "fields"
    ]
    assert "type" not in fields  # STORE is not an inventory update type
    sample.write_text("location,sku,qty,type\nL1,A,1,DELTA\n")
    fields = yaml.safe_load(cli("init", "--from", str(sample), "--target", "fluent.batch").stdout)["mapping"][
        "fields"
    ]
    assert fields["type"] == {"source": "type"}
