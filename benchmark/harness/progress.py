"""Progress the runner reports: one bar for the grid, one live line for the current phase.

Phases are what takes time: decoding data, training the original, retraining, each
method's unlearning, metrics (and the reference logits they need). A phase's own steps
(epochs with their loss, Fisher chunks, decoded images) arrive through
benchmark.core.progress, and rich turns their measured rate into an ETA. When the output is
not a terminal (CI logs, pipes, a run left in the background), each finished phase is one
line with its duration instead, and a long phase adds a line of its latest step at most once
every ``heartbeat_s`` seconds (an hour-long CPU training otherwise prints nothing until it
ends).

Lines of the set-up phases (loading data, the cost estimate) are held back until the grid
is known (``set_total``): a refusal raised while setting up (a forget set the data set does
not have, a full disk) is then the one line the user sees, not the last of several. A
heartbeat line of a long set-up phase (decoding a large data set) releases them at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from benchmark.core.progress import listening
from benchmark.harness.schema import STATUS_SKIPPED

log = logging.getLogger(__name__)

HEARTBEAT_S = 60.0  # off a terminal: a long phase's latest step at most once a minute


class Reporter:
    """Receives the runner's events; the silent one ignores them (library use)."""

    def __init__(self, progress: Progress | None = None, console: Console | None = None,
                 live: bool = False, heartbeat_s: float = HEARTBEAT_S) -> None:
        self._progress = progress
        self._console = console
        self._live = live  # a terminal: bars; otherwise one line per finished phase
        self._heartbeat_s = heartbeat_s
        self._grid: TaskID | None = None
        self._held: list[str] | None = []  # lines before set_total; None once released
        self._started = time.perf_counter()

    @classmethod
    def silent(cls) -> Reporter:
        return cls(None)

    @classmethod
    def rich(cls, console: Console | None = None, heartbeat_s: float = HEARTBEAT_S) -> Reporter:
        # Labels and notes are text, never markup or emoji codes: the forget set
        # `subclass:rocket` followed by ": 1/20" was printed as a rocket (rich's :rocket:).
        console = console or Console(stderr=True, emoji=False)
        live = console.is_terminal
        progress = Progress(
            TextColumn("{task.description}", style="progress.description", markup=False),
            BarColumn(), CountColumn(), TextColumn("{task.fields[note]}", markup=False),
            TimeElapsedColumn(),
            PaceRemainingColumn(), console=console, transient=True, disable=not live,
        )
        return cls(progress, console, live, heartbeat_s)

    def start(self, total_cells: int | None = None) -> None:
        if self._progress is not None:
            self._progress.start()
            self._grid = self._progress.add_task("grid cells", total=total_cells, note="",
                                                 measured=0)
            self._started = time.perf_counter()

    def set_total(self, total_cells: int) -> None:
        """The number of cells, once the grid is known (the data had to be loaded first)."""
        if self._progress is not None and self._grid is not None:
            # The pace counts from here: loading data is not a cell's work.
            self._progress.reset(self._grid, total=total_cells, measured=0, note="")
        self._started = time.perf_counter()
        self._release()

    @contextlib.contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """A phase of work; steps reported inside it (benchmark.core.progress) update it."""
        if self._progress is None:
            yield
            return
        task = self._progress.add_task(label, total=None, note="")
        start = time.perf_counter()
        last_line = start

        def on_step(done: int, total: int | None, note: str) -> None:
            nonlocal last_line
            self._progress.update(task, completed=done, total=total, note=note)
            now = time.perf_counter()
            if not self._live and now - last_line >= self._heartbeat_s:
                last_line = now
                self._release()  # a long phase is under way: show what led to it
                self._line(_step_line(label, done, total, note, now - start))

        try:
            with listening(on_step):
                yield
        finally:
            self._progress.remove_task(task)
        if not self._live:  # only a phase that finished: a failed one ends with its error line
            self._line(f"{label}: {time.perf_counter() - start:.1f} s")

    def advance(self, row: dict[str, Any]) -> None:
        if self._progress is not None and self._grid is not None:
            task = self._progress.tasks[self._grid]
            # A skipped row (a method not defined for the scenario) took no time: counting it
            # made the first pace "29 s left" for a two-hour cell.
            measured = task.fields.get("measured", 0) + (row.get("status") != STATUS_SKIPPED)
            self._progress.update(self._grid, advance=1, measured=measured)
            if not self._live:  # a log gets the grid's pace after every cell
                elapsed = time.perf_counter() - self._started
                left = pace_remaining(elapsed, measured, task.completed, task.total)
                eta = f"; about {_minutes(left)} left at this pace" if left is not None else ""
                total = f"/{task.total:g}" if task.total is not None else ""
                self._line(f"grid: {task.completed:g}{total} cells ({_minutes(elapsed)} so far{eta})")

    def skip(self, count: int, what: str) -> None:
        if self._progress is not None and self._grid is not None:
            self._progress.advance(self._grid, count)
            if not self._live:
                self._line(f"already stored, skipped: {what}")

    def warn(self, text: str) -> None:
        """A warning the user should see now, above the bars (stored with the rows too)."""
        if self._progress is not None:
            self._line(f"warning: {text}")
        else:
            log.warning(text)

    def note(self, text: str) -> None:
        """Information worth a line (an estimate), shown now."""
        if self._progress is not None:
            self._line(text)

    def finish(self) -> None:
        """Stop the bars; lines still held (set-up stopped by an error) are dropped."""
        self._held = None
        if self._progress is not None:
            self._progress.stop()

    def _release(self) -> None:
        held, self._held = self._held, None
        for text in held or ():
            self._line(text)

    def _line(self, text: str) -> None:
        assert self._progress is not None
        if self._held is not None:
            self._held.append(text)
            return
        # Off a terminal a line is never wrapped (rich's 80-column fallback broke lines
        # mid-phrase, and grep with them).
        self._progress.console.print(text, highlight=False, markup=False, emoji=False,
                                     soft_wrap=not self._live)


class ForwardingReporter(Reporter):
    """A Ray worker's reporter: each finished phase (with its duration), warning and note
    becomes one line handed to ``send``, which carries it to the driver (the driver prints
    it under the group's name; benchmark.harness.ray_executor)."""

    def __init__(self, send: Callable[[str], None]) -> None:
        super().__init__(None)
        self._send = send

    @contextlib.contextmanager
    def phase(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self._forward(f"{label}: {time.perf_counter() - start:.1f} s")

    def warn(self, text: str) -> None:
        self._forward(f"warning: {text}")

    def note(self, text: str) -> None:
        self._forward(text)

    def _forward(self, line: str) -> None:
        try:
            self._send(line)
        except Exception:  # progress must never cost a group its results
            log.debug("could not forward a progress line", exc_info=True)


class CountColumn(ProgressColumn):
    """``3/10``, or ``3`` when the total is unknown, or nothing before the first step
    (rich's MofNCompleteColumn showed ``0/?`` on every phase that reports no steps)."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text(f"{task.completed:g}" if task.completed else "")
        return Text(f"{task.completed:g}/{task.total:g}")


class PaceRemainingColumn(ProgressColumn):
    """``eta 0:12:30`` from the mean pace so far: elapsed / steps done x steps left (the grid:
    cells measured now, stored ones left out). rich's own column needs a step in its last 30 s
    and stayed at ``-:--:--`` when cells take minutes."""

    def render(self, task: Task) -> Text:
        measured = task.fields.get("measured", task.completed)
        left = pace_remaining(task.elapsed or 0.0, measured, task.completed, task.total)
        if left is None:
            return Text("")
        seconds = int(left)
        return Text(f"eta {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
                    style="progress.remaining")


def pace_remaining(elapsed_s: float, measured: float, completed: float,
                   total: float | None) -> float | None:
    """Seconds left at the mean pace of the ``measured`` steps so far; None before the first."""
    if total is None or measured <= 0 or elapsed_s <= 0:
        return None
    return elapsed_s / measured * max(total - completed, 0)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _step_line(label: str, done: int, total: int | None, note: str, elapsed_s: float) -> str:
    """``label: 5/40 loss 0.930 (6.2 min so far)``: one step of a long phase, off a terminal."""
    count = f"{done}/{total}" if total is not None else f"{done}"
    detail = f" {note}" if note else ""
    return f"{label}: {count}{detail} ({elapsed_s / 60:.1f} min so far)"
