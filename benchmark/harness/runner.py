"""Runs the grid: original (cached) -> gold retrain (cached) -> each method -> metrics -> store.

Everything a user can get wrong is checked before any training or writing: names,
settings, forget sets, and that the results database and the cache folder can be written
(with room for the checkpoints). Each method's ``unlearn`` is timed alone, the same way as
the gold retrain (benchmark.harness.timing). A row whose id is already stored is skipped,
so a killed run resumes where it stopped; ``rerun`` re-measures. A method that raises or
diverges becomes a stored failure row and the grid goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.engine import Engine
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.core.tensors import Normalizer
from benchmark.harness.estimate import estimate
from benchmark.harness.evaluate import Evaluator
from benchmark.harness.grid import Group, cell, expand, method_instance, validate_spec
from benchmark.harness.outputs import check_free_space, check_outputs
from benchmark.harness.progress import Reporter
from benchmark.harness.provenance import provenance
from benchmark.harness.references import Reference, gold_model, original_model
from benchmark.harness.requests import build_request
from benchmark.harness.rows import collapse_warning, make_row, weak_original_warning
from benchmark.harness.schema import STATUS_FAILED, STATUS_SKIPPED
from benchmark.harness.spec import CellSpec, RunSpec
from benchmark.harness.store import ResultStore
from benchmark.harness.threads import choose_threads, forward_mflops
from benchmark.harness.timing import speedup
from benchmark.harness.unlearning import Outcome, timed_unlearn
from benchmark.models import resolved_options
from datasets.base import ImageDataset
from datasets.forget_sets import ForgetSet
from methods import METHODS

RANDOM_MODEL_SALT = 2  # the ZRF metric's random network: a stream of its own (0 original, 1 fresh)


@dataclass
class RunOutcome:
    """The rows of a run (measured now or already stored) and how many of each."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    measured: int = 0
    skipped: int = 0
    failed: int = 0

    def summary(self) -> str:
        text = f"{self.measured} rows measured, {self.skipped} already stored"
        return text + (f", {self.failed} failed" if self.failed else "")


def run(spec: RunSpec, reporter: Reporter | None = None) -> list[dict[str, Any]]:
    """Run every cell of ``spec``; the rows of this run (measured now or already stored)."""
    return run_grid(spec, reporter).rows


def run_grid(spec: RunSpec, reporter: Reporter | None = None,
             data: dict[str, ImageDataset] | None = None) -> RunOutcome:
    """Run every cell of ``spec``; see the module docstring for what happens when.

    ``data`` supplies data sets by name instead of loading them (see ``grid.expand``).
    """
    reporter = reporter or Reporter.silent()
    engine = Engine.for_device(spec.device, spec.engine.precision, spec.engine.channels_last)
    validate_spec(spec)
    check_outputs(spec)  # before the data is loaded: nothing is written yet
    reporter.start()
    try:
        with reporter.phase("loading data sets"):
            groups = expand(spec, data)
        check_free_space(spec, groups)
        _announce_cost(spec, groups, engine, reporter)
        artifacts = ArtifactStore(spec.checkpoint_dir(), "checkpoint cache folder")
        return _run_groups(spec, engine, groups, artifacts, reporter)
    finally:
        reporter.finish()


def _announce_cost(spec: RunSpec, groups: list[Group], engine: Engine, reporter: Reporter) -> None:
    """Say what a long run will cost before it starts; warn when a GPU preset meets a CPU."""
    with reporter.phase("estimating the cost"):
        cost = estimate(spec, groups, engine)
    if engine.device.type == "cpu" and spec.made_for == "gpu":
        reporter.warn(f"preset {spec.preset!r} is made for a GPU; on this CPU it needs {cost.text()}"
                      " (Ctrl-C stops it; finished rows stay stored)")
    elif cost.seconds > 60:
        reporter.note(f"estimated: {cost.text()}")


def _run_groups(spec: RunSpec, engine: Engine, groups: list[Group], artifacts: ArtifactStore,
                reporter: Reporter) -> RunOutcome:
    outcome = RunOutcome()
    setup = (engine.device.type, engine.precision, engine.channels_last)
    with ResultStore(spec.results) as store:
        pending = [(g, [cell(spec, g, f, m, setup) for f in g.forget_sets
                        for m in (Role.ORIGINAL.value, GOLD_METHOD, *g.methods)]) for g in groups]
        reporter.set_total(sum(len(cells) for _, cells in pending))
        for group, cells in pending:
            todo = {c.row_id for c in cells} if spec.rerun else store.missing(c.row_id for c in cells)
            if not todo:
                _skip(outcome, store, cells, reporter, f"{group.model}/{group.dataset}/seed {group.seed}")
                continue
            _GroupRun(spec, group, engine, artifacts, store, reporter, outcome).run(cells, todo)
    return outcome


def _skip(outcome: RunOutcome, store: ResultStore, cells: list[CellSpec], reporter: Reporter,
          what: str) -> None:
    stored = store.rows(c.row_id for c in cells)
    outcome.rows += stored
    outcome.skipped += len(stored)
    reporter.skip(len(cells), what)


class _GroupRun:
    """One (model, data set, seed) group: its original, then each forget set's cells."""

    def __init__(self, spec: RunSpec, group: Group, engine: Engine, artifacts: ArtifactStore,
                 store: ResultStore, reporter: Reporter, outcome: RunOutcome) -> None:
        self.spec, self.group, self.engine = spec, group, engine
        self.artifacts, self.store, self.reporter, self.outcome = artifacts, store, reporter, outcome
        self.factory = group.model_factory(spec.model_kwargs.get(group.model, {}))
        threads_reason = None
        if engine.device.type == "cpu":  # before anything is timed: the count is part of the setup
            mflops = forward_mflops(self.factory(0), tuple(group.data.train_x.shape[1:]))
            threads, threads_reason = choose_threads(spec.engine.threads, mflops)
            torch.set_num_threads(threads)
        self.meta = provenance(engine) | {"threads": torch.get_num_threads(),
                                          "threads_reason": threads_reason}
        group.data = group.data.to(engine.device)
        self.normalizer = Normalizer(group.data.mean, group.data.std, engine.device)
        self.warnings: list[str] = []
        self.original_path: str | None = None

    def run(self, cells: list[CellSpec], todo: set[str]) -> None:
        group = self.group
        original = original_model(self.spec, group, self.engine, self.artifacts, self.factory,
                                  self.normalizer, self.reporter)
        self.original_path = original.path
        for forget in group.forget_sets:
            forget_cells = [c for c in cells if c.forget == forget]
            if not any(c.row_id in todo for c in forget_cells):  # stored by an earlier run
                _skip(self.outcome, self.store, forget_cells, self.reporter, f"forget {forget.label}")
                continue
            if original.error:
                for item in forget_cells:
                    self._store(item, {}, {}, error=original.error)
                continue
            gold = gold_model(self.spec, group, forget, self.engine, self.artifacts,
                              original.model, self.factory, self.normalizer, self.reporter)
            with self.reporter.phase(f"{self._where(forget)}: reference logits"):
                evaluator = Evaluator(group.data, forget, original.model, gold.model, self.engine,
                                      self.normalizer, self.spec.metrics, group.seed,
                                      self._random_model())
            if not self.warnings:
                warning = weak_original_warning(evaluator.original_test_acc, group.data.num_classes)
                self.warnings = [warning] if warning else []
                if warning:
                    self.reporter.warn(f"{group.model}/{group.dataset} seed {group.seed}: {warning}")
            for item in forget_cells:
                if item.row_id not in todo:
                    _skip(self.outcome, self.store, [item], self.reporter, item.method)
                    continue
                self._measure(item, original, gold, evaluator)

    def _measure(self, item: CellSpec, original: Reference, gold: Reference,
                 evaluator: Evaluator) -> None:
        label = f"{self._where(item.forget)}: {item.method}"
        if item.role is Role.METHOD and item.forget.scenario not in METHODS.get(item.method).scenarios:
            supported = ", ".join(sorted(s.value for s in METHODS.get(item.method).scenarios))
            self._store(item, {}, {}, error=f"{item.method} is defined for: {supported}; not for "
                        f"the {item.forget.scenario.value} scenario", status=STATUS_SKIPPED)
            return
        with self.reporter.phase(f"{label} (unlearning)"):
            result = self._model_of(item, original, gold)
        timings: dict[str, Any] = {"unlearn_s": result.seconds, "samples_seen": result.samples_seen}
        if item.role is not Role.METHOD:
            reference = original if item.role is Role.ORIGINAL else gold
            timings.update(cached=reference.cached, measured_on=reference.setup)
        else:
            timings["measured_on"] = self.engine.setup()
        if result.failed:
            self._store(item, {}, timings, error=result.error)
            return
        try:
            with self.reporter.phase(f"{label} (metrics)"), self.engine.timer() as metric_time:
                metrics = evaluator.evaluate(result.model)
        except Exception as error:  # a metric that cannot handle this model must not stop the grid
            self._store(item, {}, timings, error=f"metrics failed: {type(error).__name__}: {error}")
            return
        timings["metrics_s"] = metric_time["seconds"]
        metrics["time_s"] = result.seconds
        warnings = list(self.warnings)
        if item.role is not Role.ORIGINAL:
            value, note = speedup(gold.seconds, gold.setup, result.seconds, timings["measured_on"])
            metrics["speedup_vs_retrain"], metrics["speedup_note"] = value, note
            timings.update(gold_s=gold.seconds, gold_measured_on=gold.setup)
            if collapsed := collapse_warning(metrics, self.group.data.num_classes):
                warnings.append(collapsed)
                self.reporter.warn(f"{label}: {collapsed}")
        else:
            metrics["speedup_vs_retrain"] = None
        reference_path = {Role.ORIGINAL: original.path, Role.GOLD: gold.path}.get(item.role)
        self._store(item, metrics, timings, warnings=warnings, model=result.model,
                    model_path=reference_path)

    def _random_model(self) -> torch.nn.Module:
        """The ZRF metric's randomly initialised network (global RNG left as it was)."""
        with torch.random.fork_rng():
            return self.engine.prepare(self.factory(RANDOM_MODEL_SALT)).eval()

    def _where(self, forget: ForgetSet) -> str:
        return f"{self.group.model}/{self.group.dataset} forget {forget.label} seed {self.group.seed}"

    def _model_of(self, item: CellSpec, original: Reference, gold: Reference) -> Outcome:
        """The model of a cell: a reference as it is, or a method's timed output."""
        if item.role is Role.ORIGINAL:
            return Outcome(original.model, original.seconds)
        if item.role is Role.GOLD:
            return Outcome(gold.model, gold.seconds, gold.error, dict(gold.samples_seen))
        method = method_instance(self.spec, item.method)
        request = build_request(method, self.group.data, item.forget, self.group.seed, self.engine,
                                item.recipe, self.factory, self.normalizer)
        return timed_unlearn(method, original.model, request, self.group.seed)

    def _store(self, item: CellSpec, metrics: dict[str, Any], timings: dict[str, Any],
               error: str | None = None, warnings: list[str] | None = None,
               model: torch.nn.Module | None = None, model_path: str | None = None,
               status: str | None = None) -> None:
        row = make_row(item, self.spec, metrics, timings, self.meta, warnings or [], error,
                       self.group.data, status)
        if model is not None and self.spec.save_models and item.role is Role.METHOD:
            model_path = str(self.artifacts.save("unlearned", item.row_id, model.state_dict(),
                                                 {"method": item.method}))
        row["artifacts"] = {
            "model_path": model_path,
            "original_path": self.original_path,
            "model_options": resolved_options(self.group.model, **item.model_kwargs),
        }
        self.store.put(row)
        self.outcome.rows.append(row)
        self.outcome.measured += 1
        self.outcome.failed += int(row["status"] == STATUS_FAILED)
        self.reporter.advance(row)
