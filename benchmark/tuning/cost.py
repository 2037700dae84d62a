"""What a ``tune`` will cost, said before its first trial (and all ``tune --dry-run`` does).

A trial is one harness cell on the validation view: the method at the trial's settings and
its metrics (relearn and the membership attack are off while tuning). Each method's trial is
costed by the run's own estimate (benchmark.harness.estimate) at the method's defaults, with
one calibration per (model, data set) shared by all methods; the view's original and gold
models are counted once a group (every later trial loads them from the cache), and not at
all when they are cached already. A trial draws its own settings, so its cost moves with the
epochs or steps it draws: the figure is a typical one, not a bound. A tune that was stopped
replays its stored trials from the database in seconds (the sampler's seed fixes their
settings), so what is left of it costs less than this says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.core.artifacts import ArtifactStore
from benchmark.harness.estimate import Speed, duration, estimate
from benchmark.harness.grid import expand
from benchmark.harness.jobs import Job
from benchmark.harness.plan import Plan
from benchmark.harness.rows import group_cells
from datasets.base import ImageDataset


@dataclass(frozen=True)
class Study:
    """One study of a ``tune``: a method on one model and data set, its plan at defaults."""

    method: str
    dataset: str
    plan: Plan  # the method alone at its defaults, narrowed to the study's model and data set
    view: ImageDataset  # the validation view of the data set


@dataclass(frozen=True)
class TuneCost:
    """Seconds for the references (once) and for each method's trials (all of them)."""

    trials: int
    references_s: float = 0.0
    methods_s: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.references_s + sum(self.methods_s.values())

    def text(self) -> str:
        methods = ", ".join(f"{name} {duration(s)}" for name, s in self.methods_s.items())
        references = (f"original and gold models of the validation view {duration(self.references_s)}"
                      " (trained once, then cached); " if self.references_s >= 0.5 else "")
        return (f"about {duration(self.seconds)} for {len(self.methods_s)} method"
                f"{'s' * (len(self.methods_s) != 1)} x {self.trials} trial{'s' * (self.trials != 1)} "
                f"({references}{methods};"
                " at each method's defaults: a trial's cost moves with the epochs it draws)")


def tune_cost(studies: Iterable[Study], trials: int, artifacts: ArtifactStore | None) -> TuneCost:
    """The cost of ``trials`` trials of every study, from one calibration per model and data set."""
    speeds: dict[tuple[str, str], Speed] = {}
    counted: set[tuple[str, str, int]] = set()  # groups whose references are counted already
    references = 0.0
    methods: dict[str, float] = {}
    for study in studies:
        for group in expand(study.plan, {study.dataset: study.view}):
            group = dataclasses.replace(group, methods=[study.method])
            cells = group_cells(study.plan, group)
            todo = {cell.row_id for cell in cells if cell.method == study.method}
            cost = estimate(study.plan, [Job(group, cells, todo)], artifacts, speeds=speeds)
            trained = sum(s for name, s in cost.parts.items()
                          if name == "original" or name.startswith("gold "))
            if (group.model, group.dataset, group.seed) not in counted:
                counted.add((group.model, group.dataset, group.seed))
                references += trained
            methods[study.method] = methods.get(study.method, 0.0) + trials * (cost.seconds - trained)
    return TuneCost(trials, references, methods)
