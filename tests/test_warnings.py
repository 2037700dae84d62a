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
