"""Fixtures: a real ``engine serve`` on a free port, signing keys, and a Fluent emulator."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from engine.emulator import Emulator
from engine.serve import ServeOptions, Server, load_specs


class Keys:
    """An RSA key pair like Fluent's, with the public half in both forms Fluent hands out."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = self.private.public_key()
        self.pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.base64 = base64.b64encode(der).decode("ascii")

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.private.sign(body, padding.PKCS1v15(), hashes.SHA512())).decode("ascii")


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def other_keys() -> Keys:
    return Keys()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """``serve(*spec_paths, **ServeOptions) -> Server`` listening on a free loopback port."""
    started: list[Server] = []

    def start(*paths: Path, **options: Any) -> Server:
        options.setdefault("port", 0)
        options.setdefault("shutdown_timeout", 10.0)
        server = Server(load_specs([str(p) for p in paths]), ServeOptions(**options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as http:
        yield http


@pytest.fixture(scope="module")
def _emulator() -> Iterator[Emulator]:
    with Emulator(settings={"webhook_retries": 0}) as emu:
        yield emu


@pytest.fixture
def emu(_emulator: Emulator) -> Emulator:
    _emulator.reset()
    _emulator.configure(webhook_retries=0)
    return _emulator


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``predicate()`` is truthy (background runs finish on their own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)
