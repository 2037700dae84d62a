"""The progress reporter: every phase of a run, its steps, and one line a phase off a terminal."""

from __future__ import annotations

import contextlib
import io
import re

from rich.console import Console

from benchmark.core.progress import listening, progress
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run


class Recording(Reporter):
    """A reporter that keeps the phases it saw and the steps reported inside each."""

    def __init__(self) -> None:
        super().__init__(None)
        self.phases: list[str] = []
        self.steps: dict[str, list[tuple[int, int | None, str]]] = {}

    @contextlib.contextmanager
    def phase(self, label: str):
        self.phases.append(label)
        steps = self.steps.setdefault(label, [])
        with listening(lambda done, total, note: steps.append((done, total, note))):
            yield


def test_a_run_reports_every_phase_in_order(tiny_spec) -> None:
    tiny_spec.methods = ["unsir", "fisher"]
    reporter = Recording()
    run(tiny_spec, reporter)
    where = "smallcnn/synthetic forget 3 seed 0"
    assert reporter.phases == [
        "loading data sets",
        "estimating the cost",
        "smallcnn/synthetic seed 0: training original",
        "smallcnn/synthetic seed 0: retraining without 3",
        f"{where}: reference logits",
        *[f"{where}: {m} ({what})" for m in ("original", "retrain", "unsir", "fisher")
          for what in ("unlearning", "metrics")],
    ]
    epochs = tiny_spec.train.epochs
    training = reporter.steps["smallcnn/synthetic seed 0: training original"]
    assert [(d, t) for d, t, _ in training] == [(e, epochs) for e in range(1, epochs + 1)]
    assert all(note.startswith("loss ") for _, _, note in training)
    assert len(reporter.steps["smallcnn/synthetic seed 0: retraining without 3"]) == epochs
    fisher = reporter.steps[f"{where}: fisher (unlearning)"]
    assert fisher and fisher[-1][0] == fisher[-1][1]  # every Fisher sample done


def test_off_a_terminal_each_phase_is_one_line_with_its_duration(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    buffer = io.StringIO()
    run(tiny_spec, Reporter.rich(Console(file=buffer, force_terminal=False, width=200)))
    lines = buffer.getvalue().splitlines()
    assert any(re.fullmatch(r"smallcnn/synthetic seed 0: training original: \d+\.\d s", line)
               for line in lines), lines
    assert any(re.fullmatch(r"estimated: about .* for 3 of 3 cells.*", line) for line in lines), lines
    # after every cell, the grid's pace (a log gets no bar)
    assert re.fullmatch(r"grid: 3/3 cells \(\d+ s so far; about 0 s left at this pace\)",
                        [line for line in lines if line.startswith("grid: ")][-1]), lines
    assert any(re.fullmatch(r".*: unsir \(metrics\): \d+\.\d s", line) for line in lines)
    tiny_spec_lines = len(lines)
    buffer.truncate(0)
    run(tiny_spec, Reporter.rich(Console(file=buffer, force_terminal=False, width=200)))
    assert "already stored, skipped" in buffer.getvalue() and tiny_spec_lines > 3


def test_progress_without_a_listener_is_a_no_op() -> None:
    progress(1, 2, "nobody listens")  # must not raise
    seen = []
    with listening(lambda *step: seen.append(step)):
        progress(1, 2, "a")
        with listening(None):
            progress(2, 2, "b")  # an inner block without a listener hides the outer one
        progress(2, 2, "c")
    assert seen == [(1, 2, "a"), (2, 2, "c")]


def test_off_a_terminal_a_long_phase_reports_its_latest_step(tiny_spec) -> None:
    """A run left in the background logs its epochs (here every step: heartbeat of 0 s)."""
    tiny_spec.methods = ["unsir"]
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    run(tiny_spec, Reporter.rich(console, heartbeat_s=0.0))
    label = "smallcnn/synthetic seed 0: training original"
    epochs = tiny_spec.train.epochs
    step_lines = [line for line in buffer.getvalue().splitlines()
                  if re.fullmatch(rf"{label}: \d+/{epochs} loss \S+ \(\d+\.\d min so far\)", line)]
    assert len(step_lines) == epochs, buffer.getvalue()
    assert step_lines[-1].startswith(f"{label}: {epochs}/{epochs} ")


def test_off_a_terminal_a_short_phase_stays_one_line(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    buffer = io.StringIO()
    run(tiny_spec, Reporter.rich(Console(file=buffer, force_terminal=False, width=200)))
    assert "so far)" not in buffer.getvalue()  # the default heartbeat is a minute


def test_labels_and_notes_are_printed_as_written() -> None:
    """A forget set's name is text: `subclass:rocket` followed by ": 1/20" was printed as a
    rocket (rich's :rocket: emoji code), and brackets would have been markup."""
    buffer = io.StringIO()
    reporter = Reporter.rich(Console(file=buffer, force_terminal=False, width=200), heartbeat_s=0.0)
    reporter.start()
    reporter.set_total(1)
    label = "resnet9/cifar20 seed 0: retraining without subclass:rocket"
    with reporter.phase(label):
        progress(1, 20, "loss 2.5 [bold]")
    reporter.note("forget subclass:rocket: [red]stored[/red]")
    reporter.finish()
    lines = buffer.getvalue().splitlines()
    assert any(line.startswith(f"{label}: 1/20 loss 2.5 [bold] (") for line in lines), lines
    assert "forget subclass:rocket: [red]stored[/red]" in lines
    assert "\U0001f680" not in buffer.getvalue()
