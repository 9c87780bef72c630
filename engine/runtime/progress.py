"""Progress on a terminal: files and records as they go, rate, rejects.

Off when standard error is not a terminal (schedulers and CI get structured
log lines instead) or with ``--quiet``.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class NoProgress:
    def start(self) -> None: ...

    def item(self, name: str) -> None: ...

    def update(self, read: int, rejected: int, files_done: int) -> None: ...

    def stop(self) -> None: ...


class TerminalProgress(NoProgress):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task: Any = None
        self.started = time.monotonic()
        self.current = ""
        self._last = 0.0

    def start(self) -> None:
        self.progress.start()
        self.task = self.progress.add_task("starting")

    def item(self, name: str) -> None:
        self.current = name

    def update(self, read: int, rejected: int, files_done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = read / max(now - self.started, 1e-6)
        self.progress.update(
            self.task,
            description=(
                f"{files_done} files done · {read:,} records · {rejected:,} rejected · {rate:,.0f}/s · {self.current}"
            ),
        )

    def stop(self) -> None:
        self.progress.stop()


def make_progress(enabled: bool | None) -> NoProgress:
    if enabled is None:
        enabled = sys.stderr.isatty()
    return TerminalProgress() if enabled else NoProgress()
