"""One emulator per test module, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.emulator import Emulator


@pytest.fixture(scope="module")
def _server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(_server: Emulator) -> Emulator:
    _server.reset()
    return _server
