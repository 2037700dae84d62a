"""What a run will cost, estimated before it starts from the work that will really happen.

It is the time from the moment it is printed ("about 25 s from now"): the process's start-up
before it (Python and torch imports, loading the data sets; 5-6 s on 2 Zen 3 EPYC vCPUs for the
default preset, 20 s for a first CIFAR-10 decode) has already passed and is not in it.
Only work still to do is counted: cells already stored are skipped by the runner, and an
original or gold model already in the artifact store is loaded, not trained (the cache key
is the one ``references`` uses). When nothing is left the estimate says so and gives no time.

Work is counted in images per pass: the original (epochs x training set), each gold retrain
(epochs x retain set), each method's own passes from its config (``method_work.METHOD_WORK``, or a
method's optional ``estimated_work`` attribute, else one epoch over the retain set), and the
metrics of each row (a forward pass over both splits, plus the relearn metric's fine-tuning
at half its epoch cap: the typical value in docs/results/cifar10-cpu), and with
``metrics.population=N`` the pools' trainings and runs (benchmark.harness.estimate_population),
and the membership attack's one-time import. A pass of N images at batch B costs
``ceil(N / B) * step_s + N * image_s``; a forward pass the same with its own calibrated
``eval_step_s`` and ``eval_image_s``; one
per-sample gradient of torch.func's path (Fisher, SSD on CUDA or ``backend=func``) 3 x forward
FLOPs at ``PER_SAMPLE_FLOP_S``; the CPU's layerwise path (``Speed.layerwise``) a forward pass,
a backward pass per cotangent and its squares' multiply-adds, from the model's own layers.

``step_s`` and ``image_s`` (training) and their evaluation twins come from a calibration of
the group's own model on this device (benchmark/harness/calibration.py). Measured against
whole runs in docs/BENCHMARKS.md ("The pre-run estimate").
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.harness.calibration import Speed, calibrate
from benchmark.harness.estimate_population import population_seconds, stored
from benchmark.harness.grid import Group
from benchmark.harness.jobs import Job
from benchmark.harness.method_work import LAYERWISE, METHOD_WORK, Sizes, one_epoch
from benchmark.harness.plan import Plan
from benchmark.harness.references import key_parts  # the one definition of the cache key
from benchmark.harness.rows import group_cells, undefined_reason

# Per-sample gradients (Fisher, SSD: torch.func.vmap of a vjp) run far below batched training:
# 7.5 GFLOP/s (ResNet-9) and 8.6 GFLOP/s (smallcnn) on 2 AMD EPYC vCPUs alone, against
# ~160 GFLOP/s of ResNet-9 training. A fixed figure, not calibrated (a vmap warm-up would
# cost more than the whole estimate); 3 x forward FLOPs a gradient.
PER_SAMPLE_FLOP_S = 8e9
GROUP_OVERHEAD_S = 1.0  # per group: thread sampling, warm-ups, first-call costs, row writes
CELL_OVERHEAD_S = 0.3  # per measured cell: warm-up copy, weight distances, MIA, the row
# The membership attack's first use imports scikit-learn (and scipy): 2.2 s alone on 2 Zen 3
# EPYC vCPUs, once a process. Imported there, not at start-up, so commands that measure
# nothing start sooner (benchmark/metrics/mia.py).
ATTACK_IMPORT_S = 2.0
ATTACK_MODULE = "sklearn.linear_model"
UNDEFINED = "of a method not defined for its scenario, stored as skipped"  # how those cells are named


@dataclass(frozen=True)
class Estimate:
    """Seconds still to spend, by part; ``todo == 0`` means every cell is stored."""

    seconds: float
    parts: dict[str, float] = field(default_factory=dict)
    cells: int = 0
    todo: int = 0
    loaded: int = 0  # cached originals and gold models that will be loaded, not trained
    undefined: int = 0  # cells of a method not defined for their scenario: a skipped row, no work

    @property
    def nothing_to_do(self) -> bool:
        """No cell left to measure (skipped rows of undefined methods are written at once)."""
        return self.todo == self.undefined

    def text(self) -> str:
        if self.todo == 0:
            return f"nothing to do: all {self.cells} cells are stored"
        if self.nothing_to_do:
            return f"nothing to train: the {_cells(self.todo)} left are {UNDEFINED}"
        notes = [", ".join(f"{name} {duration(s)}" for name, s in self.parts.items() if s >= 0.5),
                 f"{self.loaded} cached model{'s' * (self.loaded != 1)} loaded" if self.loaded else "",
                 f"{self.undefined} {UNDEFINED}" if self.undefined else ""]
        return (f"about {duration(self.seconds)} from now for {self.todo} of {_cells(self.cells)}"
                f" ({'; '.join(note for note in notes if note)})")


def _cells(count: int) -> str:
    return f"{count} cell{'s' * (count != 1)}"


def duration(seconds: float) -> str:
    """Seconds as a person reads them: hours from two hours, minutes from two minutes."""
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def estimate(plan: Plan, jobs: Iterable[Job | Group], artifacts: ArtifactStore | None = None,
             cells: int | None = None,
             speeds: dict[tuple[str, str], Speed] | None = None) -> Estimate:
    """The cost of ``jobs`` (a Group counts as a job with every cell to do).

    ``artifacts``: where cached references are looked up (None: nothing is cached);
    ``cells``: the run's cells, stored ones included (default: the jobs' cells);
    ``speeds``: calibrations by (model, data set), filled here and reusable across calls
    (``tune`` estimates each method's trial with one calibration).
    """
    jobs = [job if isinstance(job, Job) else _whole(plan, job) for job in jobs]
    parts: dict[str, float] = {}
    cells = sum(len(job.cells) for job in jobs) if cells is None else cells
    todo = sum(len(job.todo) for job in jobs)
    loaded = undefined = 0
    speeds = {} if speeds is None else speeds
    for job in jobs:
        if not job.todo:
            continue
        skipped = sum(1 for cell in job.cells if cell.row_id in job.todo and undefined_reason(cell))
        undefined += skipped
        if skipped == len(job.todo):
            continue  # only skipped rows to write (group_run): no calibration, no references
        group = job.group
        key = (group.model, group.dataset)
        if key not in speeds:
            speeds[key] = calibrate(plan, group)
        loaded += _group_cost(plan, job, speeds[key], artifacts, parts)
    if todo > undefined and plan.metrics.mia and ATTACK_MODULE not in sys.modules:
        parts["overhead"] = parts.get("overhead", 0.0) + ATTACK_IMPORT_S
    return Estimate(sum(parts.values()), parts, cells, todo, loaded, undefined)


def _whole(plan: Plan, group: Group) -> Job:
    cells = group_cells(plan, group)
    return Job(group, cells, {c.row_id for c in cells})


def _add(parts: dict[str, float], name: str, seconds: float) -> None:
    parts[name] = parts.get(name, 0.0) + seconds


def _group_cost(plan: Plan, job: Job, speed: Speed, artifacts: ArtifactStore | None,
                parts: dict[str, float]) -> int:
    """Add the group's seconds to ``parts``; the number of references loaded from the cache."""
    group, data = job.group, job.group.data
    recipe = plan.recipe(group.model, group.dataset)
    n_train, n_test = len(data.train_y), len(data.test_y)
    eval_batch = plan.engine.eval_batch_size
    metrics = plan.metrics
    loaded = 0
    _add(parts, "overhead", GROUP_OVERHEAD_S + CELL_OVERHEAD_S * len(job.todo))
    if _cached(plan, group, artifacts, Role.ORIGINAL.value, {}):
        loaded += 1
    else:
        _add(parts, "original", speed.train(recipe.epochs * n_train, recipe.batch_size))
    original_logits = False
    population_originals = False  # the group's population originals counted already
    for forget in group.forget_sets:
        todo = [c for c in job.cells if c.forget == forget and c.row_id in job.todo
                and not undefined_reason(c)]
        if not todo:
            continue
        forget_train, forget_test = forget.masks(data)
        n_forget = int(forget_train.sum())
        sizes = Sizes(n_train, n_train - n_forget, n_forget, data.num_classes,
                      len(forget.forget_classes), _smallest_class(data, forget.forget_classes),
                      recipe, cpu=plan.engine.device.type == "cpu")
        gold = plan.method(GOLD_METHOD)
        if _cached(plan, group, artifacts, Role.GOLD.value, {"forget": forget, "config": gold.config}):
            loaded += 1
        else:
            _add(parts, f"gold {forget.label}", _method_seconds(gold, sizes, speed))
        # Evaluator: the original's logits once a group; gold and random logits on the forgotten.
        # A model's logits cover the whole training split, or only the forget set's rows.
        n_logits = (n_train if metrics.train_split or metrics.mia else n_forget) + n_test
        seconds = speed.forward(2 * n_forget, eval_batch)
        if not original_logits:
            seconds += speed.forward(n_logits, eval_batch)
            original_logits = metrics.train_split or metrics.mia  # else once a forget set
        relearn_epoch = (speed.train(metrics.relearn_per_class * data.num_classes, 256)
                         + speed.forward(int(forget_test.sum()), eval_batch))
        for cell in todo:
            if cell.role is not Role.ORIGINAL:  # the original's row reuses its logits
                seconds += speed.forward(n_logits, eval_batch)
                if metrics.relearn:  # typical: half the cap (the original relearns at step 0)
                    seconds += relearn_epoch * metrics.relearn_max_epochs / 2
            if cell.role is Role.METHOD:
                _add(parts, cell.method, _method_seconds(plan.method(cell.method), sizes, speed))
        _add(parts, "metrics", seconds)
        if metrics.population:
            examples = (n_forget + min(metrics.population_examples, n_train - n_forget)
                        + min(metrics.population_examples, n_test))
            for name, part in population_seconds(
                    plan, job, forget, todo, artifacts,
                    speed.train(recipe.epochs * n_train, recipe.batch_size),
                    lambda method, sizes=sizes: _method_seconds(plan.method(method), sizes, speed),
                    speed.forward(examples, eval_batch), population_originals).items():
                _add(parts, name, part)
            population_originals = True
    return loaded


def _smallest_class(data: Any, forget_classes: Iterable[int]) -> int:
    counts = torch.bincount(data.train_y.cpu(), minlength=data.num_classes)
    kept = [int(counts[c]) for c in range(data.num_classes) if c not in set(forget_classes)]
    return min(kept) if kept else 0


def _cached(plan: Plan, group: Group, artifacts: ArtifactStore | None, kind: str,
            extra: dict[str, Any]) -> bool:
    """Whether ``references`` will load this reference: its file and its .json sidecar exist."""
    if artifacts is None:
        return False
    return stored(artifacts, kind, key_parts(plan, group) | extra)


def _method_seconds(method: Any, sizes: Sizes, speed: Speed) -> float:
    work = getattr(type(method), "estimated_work", None) or METHOD_WORK.get(method.name, one_epoch)
    seconds = 0.0
    for images, batch, kind in work(method.config, sizes):
        if kind == "per_sample":  # one gradient per image (and class)
            seconds += images * 3e6 * speed.mflops / PER_SAMPLE_FLOP_S
        elif kind in LAYERWISE:
            seconds += speed.layerwise(images, batch, LAYERWISE[kind](sizes))
        elif kind == "forward":
            seconds += speed.forward(images, batch)
        elif kind == "input_gradient":  # no weight-gradient GEMMs: two of a step's three
            seconds += speed.train(images, batch) * 2 / 3
        else:
            seconds += speed.train(images, batch)
    return seconds
