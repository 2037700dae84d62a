"""Warnings before and during work: a GPU preset on a CPU, a weak original, a collapsed model."""

from __future__ import annotations

from benchmark.core.training import TrainRecipe
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run


class Warned(Reporter):
    def __init__(self) -> None:
        super().__init__(None)
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)


def test_a_gpu_preset_on_a_cpu_warns_with_an_estimate(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    tiny_spec.made_for, tiny_spec.preset = "gpu", "big-gpu-preset"
    reporter = Warned()
    run(tiny_spec, reporter)
    assert len(reporter.warnings) == 1
    assert reporter.warnings[0].startswith("preset 'big-gpu-preset' is made for a GPU; on this "
                                           "CPU it needs about ")


def test_a_weak_original_is_flagged_on_every_row(tiny_spec) -> None:
    tiny_spec.methods = ["unsir"]
    # A vanishing step: the original stays at chance (zero epochs is refused as a recipe, and
    # so are fewer than 5 one-cycle steps: batches of 64 give 10).
    tiny_spec.train = TrainRecipe(epochs=1, lr=1e-12, batch_size=64)
    reporter = Warned()
    rows = run(tiny_spec, reporter)
    assert all(any(w.startswith("weak original") for w in row["warnings"]) for row in rows)
    assert any("weak original" in text for text in reporter.warnings)


class Ordered(Warned):
    """Warnings and phases in the order they happened."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def warn(self, text: str) -> None:
        super().warn(text)
        self.events.append(f"warning: {text}")

    def phase(self, label: str):
        self.events.append(f"phase: {label}")
        return super().phase(label)


def test_settings_a_method_says_cannot_work_are_warned_about_before_training(tiny_spec) -> None:
    """SSD at alpha >= 1/f selects nothing (issue 22): one line, before any model trains."""
    tiny_spec.methods = ["ssd"]
    tiny_spec.forget = ["3", "0,2"]
    tiny_spec.method_settings = {"ssd": {"selection_weighting": 8.0}}
    reporter = Ordered()
    run(tiny_spec, reporter)
    warned = [w for w in reporter.warnings if w.startswith("ssd on synthetic")]
    # one class of ten is f = 10 % (8 < 1/f = 10: fine); two classes f = 20 %, 1/f = 5
    assert len(warned) == 1 and warned[0].startswith("ssd on synthetic forget 0,2: "
                                                     "selection_weighting=8 selects no parameter")
    assert "1/f = 5" in warned[0]
    first_training = next(i for i, e in enumerate(reporter.events) if "training original" in e)
    assert reporter.events.index(f"warning: {warned[0]}") < first_training
