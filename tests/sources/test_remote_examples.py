"""The S3 and SFTP example connectors run end to end on their fixtures against the real servers.

Each example is copied to a scratch directory (its output goes next to the
spec) and pointed at the test servers with ``--set`` overrides, as a user
would point it at a staging server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.runtime.report import EXIT_REJECTS

EXAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "examples"


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target / f"{name}.yaml"


def test_s3_csv_to_jsonl(s3_server, tmp_path, run_spec, monkeypatch):
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("WMS_AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("WMS_AWS_SECRET_ACCESS_KEY", SECRET)
    spec = copy_example("s3-csv-to-jsonl", tmp_path)
    s3 = s3_server.bucket("wms-exports")
    sample = (spec.parent / "data" / "inventory_2026-01-05.csv").read_bytes()
    s3.put_object(Bucket="wms-exports", Key="inventory/incoming/inventory_2026-01-05.csv", Body=sample)
    s3.put_object(
        Bucket="wms-exports", Key="inventory/incoming/inventory_2026-01-06.csv", Body=b"sku,sku\n1,2\n"
    )
    report = run_spec(
        spec,
        overrides=[
            f"connections.wms.endpoint_url={s3_server.endpoint}",
            "connections.wms.path_style=true",
            "source.min_age=0s",
        ],
    )
    assert report.exit_code == EXIT_REJECTS, report.error  # finished, but one object went to errors/
    out = (spec.parent / "out" / "inventory_2026-01-05.jsonl").read_text().splitlines()
    assert len(out) == 3 and report.counts["rejected"]["mapping"] == 1
    day = f"{report.started:%Y/%m/%d}"
    listed = s3.list_objects_v2(Bucket="wms-exports")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "inventory/errors/inventory_2026-01-06.csv",
        f"inventory/processed/{day}/inventory_2026-01-05.csv",
    ]


def test_sftp_csv_processed_errors(sftp_server, tmp_path, run_spec, monkeypatch):
    monkeypatch.setenv("PARTNER_SFTP_PASSWORD", sftp_server.password)
    spec = copy_example("sftp-csv-processed-errors", tmp_path)
    for name in ("stock_2026-01-05.csv", "stock_2026-01-06.csv"):
        sftp_server.write(f"outbound/stock/{name}", (spec.parent / "data" / name).read_bytes())
    report = run_spec(
        spec,
        overrides=[
            "connections.partner.host=127.0.0.1",
            f"connections.partner.port={sftp_server.port}",
            f"connections.partner.username={sftp_server.user}",
            f"connections.partner.host_key={sftp_server.host_fingerprint}",
            "source.path=/upload/outbound/stock",
            "source.size_stable_for=0.2s",
        ],
    )
    assert {i.name: i.status for i in report.items} == {
        "stock_2026-01-05.csv": "done",
        "stock_2026-01-06.csv": "failed",
    }
    assert "duplicate column names in the header: 'sku'" in report.items[1].reason
    day = f"{report.started:%Y/%m/%d}"
    assert sftp_server.files() == [
        "outbound/stock/errors/stock_2026-01-06.csv",
        f"outbound/stock/processed/{day}/stock_2026-01-05.csv",
    ]
    assert len((spec.parent / "out" / "stock_2026-01-05.jsonl").read_text().splitlines()) == 3


def test_sftp_to_s3_round_trips_the_sample_exactly(sftp_server, s3_server, tmp_path, run_spec, monkeypatch):
    from tests.servers.s3 import KEY_ID, SECRET

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)  # the example uses the default credential chain
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("PARTNER_KEY_PASSPHRASE", sftp_server.passphrase)
    spec = copy_example("sftp-to-s3", tmp_path)
    known_hosts = tmp_path / "known_hosts"
    keytype, blob = sftp_server.host_key_line.split()[:2]
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {keytype} {blob}\n")
    sample = (spec.parent / "data" / "orders_2026-01-05.jsonl").read_bytes()
    sftp_server.write("outbound/orders/orders_2026-01-05.jsonl", sample)
    s3 = s3_server.bucket("retail-data-lake")
    report = run_spec(
        spec,
        overrides=[
            "connections.partner.host=127.0.0.1",
            f"connections.partner.port={sftp_server.port}",
            f"connections.partner.username={sftp_server.user}",
            f"connections.partner.private_key={sftp_server.key_with_passphrase}",  # encrypted: needs the passphrase
            f"connections.partner.known_hosts={known_hosts}",
            "source.path=/upload/outbound/orders",
            f"connections.lake.endpoint_url={s3_server.endpoint}",
            "connections.lake.path_style=true",
        ],
    )
    assert report.status == "ok", report.error
    body = s3.get_object(Bucket="retail-data-lake", Key="raw/partner/orders/orders_2026-01-05.jsonl")["Body"]
    assert body.read() == sample
    assert sftp_server.files() == ["outbound/orders/sent/orders_2026-01-05.jsonl"]
