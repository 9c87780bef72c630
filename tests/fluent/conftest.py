from __future__ import annotations

import pytest

from engine.emulator import Emulator


@pytest.fixture
def emulator():
    """A Fluent emulator on a free port; batches advance on every status poll."""
    emu = Emulator(settings={"batch_polls_per_step": 1})
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def fluent_block(emulator):
    """The ``connections:`` block of a spec pointing at the emulator."""

    def block(**extra: object) -> str:
        c = emulator.credentials
        options = {
            "type": "fluent",
            "base_url": emulator.url,
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"],
            "retailer_id": str(c["retailer_id"]),
            "retry": {"backoff": "50ms", "max_backoff": "1s"},
            **extra,
        }
        import json

        return "connections:\n  fluent: " + json.dumps(options) + "\n"

    return block
