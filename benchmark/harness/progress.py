"""Progress on long work (rich), kept out of the runner's logic behind a small interface."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    """Receives progress events from the runner; the silent one ignores them (library use)."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self._task: Any = None

    @classmethod
    def silent(cls) -> Reporter:
        return cls(None)

    @classmethod
    def rich(cls, console: Console | None = None) -> Reporter:
        console = console or Console(stderr=True)
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
            disable=not console.is_terminal and not sys.stderr.isatty(),
        )
        return cls(progress)

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("starting", total=total)

    def step(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description)
            if self._progress.disable:  # not a terminal (CI logs): one line per step
                self._progress.console.print(description, highlight=False)

    def epoch_callback(self, epochs: int) -> Callable[[int, float], None] | None:
        if self._progress is None:
            return None
        base = self._progress.tasks[0].description if self._progress.tasks else ""

        def on_epoch(epoch: int, loss: float) -> None:
            self._progress.update(self._task, description=f"{base} epoch {epoch + 1}/{epochs} loss {loss:.3f}")

        return on_epoch

    def advance(self, row: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def skip(self, count: int, what: str) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, count)
            if self._progress.disable:
                self._progress.console.print(f"already stored, skipped: {what}", highlight=False)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
