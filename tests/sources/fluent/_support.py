"""Extraction specs against a live emulator, and a way to change data between runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from engine.emulator import Emulator
from tests.targets.fluent._support import connection

POSITIONS = """
query Positions($first: Int, $after: String, $from: DateTime, $to: DateTime) {
  inventoryPositions(first: $first, after: $after, updatedOn: {from: $from, to: $to}) {
    edges { cursor node { id ref productRef locationRef onHand updatedOn } }
    pageInfo { hasNextPage }
  }
}
"""


def extraction_spec(
    emu: Emulator,
    *,
    source: str = "",
    query: str = POSITIONS,
    page_size: int = 1000,
    out: str = "out",
    target: str = "",
) -> str:
    indented = "\n".join("    " + line for line in query.strip().splitlines())
    return f"""
version: 1
name: positions
{connection(emu)}
source:
  type: fluent.graphql
  connection: fluent
  records: inventoryPositions.edges[*].node
  page_size: {page_size}
  query: |
{indented}
{source}
target:
{
        target
        or f'''  type: file
  writer: jsonl
  destination: {{type: local, path: {out}}}'''
    }
"""


def output(directory: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(directory.rglob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return records


def update_positions(emu: Emulator, refs: list[tuple[str, str]], qty: int) -> None:
    """Change stock through the Batch API, as a WMS would (positions get a new updatedOn)."""
    emu.configure(batch_complete_on_receipt=True)
    c = emu.credentials
    with httpx.Client(base_url=emu.url, timeout=10) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
                "username": c["username"],
                "password": c["password"],
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        job = http.post("/api/v4.1/job", json={"name": "wms", "retailerId": "1"}, headers=headers).json()[
            "id"
        ]
        entities = [{"skuRef": sku, "locationRef": loc, "qty": qty, "retailerId": 1} for sku, loc in refs]
        answer = http.post(
            f"/api/v4.1/job/{job}/batch",
            headers=headers,
            json={"action": "UPSERT", "entityType": "INVENTORY", "entities": entities},
        )
        assert answer.status_code == 200, answer.text
