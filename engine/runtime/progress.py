"""Progress on a terminal: files and records as they go, rate, rejects.

Off when standard error is not a terminal (schedulers and CI get structured
log lines instead) or with ``--quiet``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from typing_extensions import override

from engine.printable import printable


class NoProgress:
    """Progress for runs without a terminal: every call does nothing."""

    def start(self) -> None:
        """Begin showing progress."""

    def item(self, name: str) -> None:
        """The run moved on to the item ``name``."""

    def update(self, read: int, rejected: int, files_done: int) -> None:
        """New totals: records read and rejected, files finished."""

    def stop(self) -> None:
        """Stop showing progress."""


class TerminalProgress(NoProgress):
    """A one-line rich progress display on standard error, refreshed at most ten times a second."""

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

    @override
    def start(self) -> None:
        self.progress.start()
        self.task = self.progress.add_task("starting")

    @override
    def item(self, name: str) -> None:
        from rich.markup import escape

        self.current = escape(printable(name))  # a file name is neither markup nor a line break

    @override
    def update(self, read: int, rejected: int, files_done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = read / max(now - self.started, 1e-6)
        self.progress.update(
            self.task,
            description=(
                f"{files_done} files done · {read:,} records · {rejected:,} rejected · {rate:,.0f}/s"
                + (f" · reading {self.current}" if self.current else "")
            ),
        )

    @override
    def stop(self) -> None:
        self.progress.stop()


def make_progress(enabled: bool | None) -> NoProgress:
    """Terminal progress when asked for, or by default when standard error is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return TerminalProgress() if enabled else NoProgress()
