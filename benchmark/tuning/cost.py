"""What a ``tune`` will cost, said before its first trial (and all ``tune --dry-run`` does).

A trial is one harness cell on the validation view: the method at the trial's settings and
its metrics (relearn and the membership attack are off while tuning). A typical trial is
costed by the run's own estimate (benchmark.harness.estimate) at settings drawn from the
method's search space, averaged over ``DRAWS`` of them, with one calibration per (model, data
set) shared by all methods; the view's original and gold models are counted once a group
(every later trial loads them from the cache), and not at all when they are cached already.
Why draws and not the defaults: a trial's cost moves with the epochs and data fractions it
draws, and Optuna's TPE draws its first ten trials at random from exactly these priors; priced
at its defaults (1 epoch on 30 % of the retain set) Bad Teacher's leaderboard trials cost 4-5x
the estimate. Later TPE trials follow what scored well, so the figure is a typical one, not a
bound. A tune that was stopped replays its stored trials from the database in seconds (the
sampler's seed fixes their settings), so what is left of it costs less than this says.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.search_space import Param, quantile
from benchmark.harness.calibration import Speed
from benchmark.harness.estimate import duration, estimate
from benchmark.harness.grid import expand
from benchmark.harness.jobs import Job
from benchmark.harness.plan import Plan
from benchmark.harness.rows import group_cells
from datasets.base import ImageDataset
from methods import METHODS

# Settings drawn from a search space to price a typical trial: a Latin hypercube, so 16
# draws cover every stratum of every range (each whole epoch of 1..8 twice).
DRAWS = 16


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
                f" a trial priced as the mean of {DRAWS} settings spread over the method's search"
                " space; later trials follow what scored well and may cost more or less)")


def typical_settings(space: dict[str, Param], count: int = DRAWS, seed: int = 0) -> list[dict]:
    """``count`` settings that spread over ``space`` as random draws would, evenly: each
    range's prior cut into ``count`` strata, one draw at each stratum's middle, the strata of
    different ranges paired at random (a Latin hypercube). An empty space gives one: {}."""
    if not space:
        return [{}]
    generator = random.Random(seed)
    columns = {}
    for name, param in space.items():
        strata = [(i + 0.5) / count for i in range(count)]
        generator.shuffle(strata)
        columns[name] = [quantile(param, q) for q in strata]
    return [{name: column[i] for name, column in columns.items()} for i in range(count)]


def tune_cost(studies: Iterable[Study], trials: int, artifacts: ArtifactStore | None) -> TuneCost:
    """The cost of ``trials`` trials of every study, from one calibration per model and data set."""
    speeds: dict[tuple[str, str], Speed] = {}
    counted: set[tuple[str, str, int]] = set()  # groups whose references are counted already
    references = 0.0
    methods: dict[str, float] = {}
    for study in studies:
        plans = [study.plan.with_method_settings(study.method, settings)
                 for settings in typical_settings(METHODS.get(study.method).search_space)]
        for group in expand(study.plan, {study.dataset: study.view}):
            group = dataclasses.replace(group, methods=[study.method])
            cells = group_cells(study.plan, group)
            todo = {cell.row_id for cell in cells if cell.method == study.method}
            costs = [estimate(plan, [Job(group, cells, todo)], artifacts, speeds=speeds) for plan in plans]
            trained = sum(s for name, s in costs[0].parts.items()
                          if name == "original" or name.startswith("gold "))
            if (group.model, group.dataset, group.seed) not in counted:
                counted.add((group.model, group.dataset, group.seed))
                references += trained
            typical = sum(cost.seconds for cost in costs) / len(costs) - trained
            methods[study.method] = methods.get(study.method, 0.0) + trials * typical
    return TuneCost(trials, references, methods)
