"""Fixtures: one real emulator per test module (reset before every test) and a small client
that talks to it over HTTP exactly as the Fluent SDK does (compact JSON, Content-Type on GETs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.emulator import Emulator


class Api:
    """An authenticated Fluent client: the SDK's header set and body encoding."""

    def __init__(self, emu: Emulator, token: str | None = None) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=emu.url, timeout=10)
        self.token = token or self.login()

    def login(self, **overrides: str) -> str:
        c = self.emu.credentials
        fields = {
            "grant_type": "password",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"],
            "scope": "api",
            **overrides,
        }
        response = self.http.post("/oauth/token", data=fields)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", "Accept": "*/*"}

    def post(self, path: str, payload: Any) -> httpx.Response:
        body = json.dumps(payload, separators=(",", ":"))
        return self.http.post(path, content=body, headers=self.headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None, headers=self.headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            payload["variables"] = variables
        response = self.post("/graphql", payload)
        assert response.status_code == 200, response.text
        return response.json()

    def job(self, **fields: Any) -> str:
        response = self.post("/api/v4.1/job", {"name": "test job", "retailerId": "1", **fields})
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def batch(self, job_id: str, entities: list[dict[str, Any]], **fields: Any) -> httpx.Response:
        return self.post(
            f"/api/v4.1/job/{job_id}/batch",
            {"action": "UPSERT", "entityType": "INVENTORY", "entities": entities, **fields},
        )

    def batch_status(self, job_id: str, batch_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v4.1/job/{job_id}/batch/{batch_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def poll_until_complete(self, job_id: str, batch_id: str, limit: int = 10) -> dict[str, Any]:
        for _ in range(limit):
            status = self.batch_status(job_id, batch_id)
            if status["status"] == "COMPLETE":
                return status
        raise AssertionError(f"batch {batch_id} did not complete: {status}")

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=payload)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.http.close()


def entity(sku: str = "SKU-0001", loc: str = "LOC-001", qty: int = 5, **extra: Any) -> dict[str, Any]:
    return {"locationRef": loc, "skuRef": sku, "qty": qty, "retailerId": 1, **extra}


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Emulator:
    server.reset()
    return server


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.close()
