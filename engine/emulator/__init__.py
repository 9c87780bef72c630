"""A local Fluent Commerce emulator, served over real HTTP.

It has OAuth, GraphQL, the Job/Batch and Event APIs, signed webhooks, seed
data and fault injection.

    from engine.emulator import Emulator
    with Emulator() as emu:          # default seed, free port on 127.0.0.1
        emu.url, emu.credentials

See docs/emulator.md for the seed format, the control API and the behaviour switches.
"""

from engine.emulator.server import Emulator

__all__ = ["Emulator"]
