"""A local Fluent Commerce emulator, served over real HTTP.

It has OAuth, GraphQL, the Job/Batch and Event APIs, signed webhooks, seed
data and fault injection.

    from engine.emulator import Emulator
    with Emulator() as emu:          # default seed, free port on 127.0.0.1
        emu.url, emu.credentials

See docs/emulator.md for the seed format, the control API and the behaviour switches.

``Emulator`` loads on first use: the ``engine`` command line imports this
package for its ``emulator`` command, and a connector run should not pay for
the server stack (Starlette, uvicorn, GraphQL, httpx) it never starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.emulator.server import Emulator

__all__ = ["Emulator"]


def __getattr__(name: str) -> object:
    """``engine.emulator.Emulator``, imported when first asked for (PEP 562)."""
    if name == "Emulator":
        from engine.emulator.server import Emulator

        return Emulator
    raise AttributeError(f"module 'engine.emulator' has no attribute {name!r}")
