"""Named crash points for crash-consistency tests.

``ENGINE_FAILPOINTS="batch.after_post=3,item.after_move=1"`` makes the process
kill itself with SIGKILL the 3rd time it passes ``batch.after_post`` (and the
1st time it passes ``item.after_move``). Tests use it to stop a run at an
exact moment (between a write and its checkpoint, during a move) and prove
the next run neither loses nor repeats anything. ``chunk.done=3:SIGINT``
sends that signal instead (an operator's Ctrl-C at an exact moment). Unset,
a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_armed: dict[str, int] = {}
_signals: dict[str, signal.Signals] = {}
_hits: dict[str, int] = {}


def _load() -> None:
    for part in os.environ.get("ENGINE_FAILPOINTS", "").split(","):
        name, _, when = part.strip().partition("=")
        nth, _, sig = when.partition(":")
        if name:
            _armed[name] = int(nth or 1)
            _signals[name] = signal.Signals[sig] if sig else signal.SIGKILL


_load()


def failpoint(name: str) -> None:
    """Kill the process with SIGKILL (or the armed signal) if ``name`` is armed and this is its nth pass.

    Does nothing when ``ENGINE_FAILPOINTS`` does not name it; never returns when SIGKILL fires.
    """
    if not _armed or name not in _armed:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == _armed[name]:
            os.kill(os.getpid(), _signals[name])
