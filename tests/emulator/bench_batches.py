"""How many batch entities a second the emulator accepts and applies, over real HTTP.

Runs the emulator in its own process (as ``engine emulator`` does) so the client does not share
its interpreter, sends 5,000-entity batches, and reports one JSON line: entities per second when
batches are applied on receipt, and when they are applied after polling (the default flow).

    python tests/emulator/bench_batches.py [--batches 40] [--size 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SEED = (
    "extends: default\ngenerate:\n  products: {catalogue: 'PC:MASTER:1', count: 20000, ref: 'SKU-{n:04d}'}\n"
)


def start(settings: list[str], seed_path: str) -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "engine.emulator.cli", "--port", "0", "--seed", seed_path]
    for setting in settings:
        args += ["--setting", setting]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, line.split("listening on", 1)[1].strip()


def bodies(batches: int, size: int) -> list[bytes]:
    """Compact JSON bodies, built before timing: half new positions, half updates."""
    out = []
    for b in range(batches):
        entities = []
        for i in range(size):
            n = (b * size + i) % (20000 * 5)
            entities.append(
                {
                    "locationRef": f"LOC-{n % 5 + 1:03d}",
                    "skuRef": f"SKU-{n // 5 + 1:04d}",
                    "qty": (b + i) % 97,
                    "correctedQty": 0,
                    "type": "LAST_ON_HAND",
                    "retailerId": 1,
                }
            )
        payload = {
            "action": "UPSERT",
            "entityType": "INVENTORY",
            "source": "bench",
            "catalogueRef": "DEFAULT:1",
            "entities": entities,
        }
        out.append(json.dumps(payload, separators=(",", ":")).encode())
    return out


def run(url: str, payloads: list[bytes], poll: bool) -> float:
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": "DEMO",
                "client_secret": "demo-secret",
                "username": "demo",
                "password": "demo-password",
                "scope": "api",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        job = client.post(
            "/api/v4.1/job",
            json={"name": "bench", "retailerId": "1", "meta": {"preprocessing": "skip"}},
            headers=headers,
        ).json()["id"]
        started = time.perf_counter()
        ids = []
        for body in payloads:
            response = client.post(f"/api/v4.1/job/{job}/batch", content=body, headers=headers)
            response.raise_for_status()
            ids.append(response.json()["id"])
        if poll:
            for batch in ids:
                while (
                    client.get(f"/api/v4.1/job/{job}/batch/{batch}", headers=headers).json()["status"]
                    != "COMPLETE"
                ):
                    pass
        elapsed = time.perf_counter() - started
        applied = sum(b["summary"]["applied"] for b in httpx.get(f"{url}/_emulator/state/batches").json())
        if applied != len(payloads) * len(json.loads(payloads[0])["entities"]):
            raise SystemExit(f"only {applied} entities were applied")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=5000)
    opts = parser.parse_args()
    payloads = bodies(opts.batches, opts.size)
    total = opts.batches * opts.size
    result: dict[str, object] = {"batches": opts.batches, "batch_size": opts.size, "entities": total}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as seed_file:
        seed_file.write(SEED)
    try:
        for mode, settings, poll in (
            ("on_receipt", ["batch_complete_on_receipt=true"], False),
            ("after_polls", [], True),
        ):
            proc, url = start(settings, seed_file.name)
            try:
                elapsed = run(url, payloads, poll)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            result[f"{mode}_seconds"] = round(elapsed, 3)
            result[f"{mode}_entities_per_second"] = round(total / elapsed)
    finally:
        os.unlink(seed_file.name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
