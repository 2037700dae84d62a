"""One (model, data set, seed) group's work: its original, each forget set's gold model,
every method's timed ``unlearn`` and metrics, as rows handed to a sink.

The local executor runs it in the driver's process; the Ray executor runs it in a worker,
whose rows travel back to the driver, the only writer of the results database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.roles import Role
from benchmark.core.tensors import Normalizer
from benchmark.harness.evaluate import Evaluator, OriginalLogits
from benchmark.harness.grid import Group, GroupContext
from benchmark.harness.plan import Plan
from benchmark.harness.population import Outputs, Population
from benchmark.harness.progress import Reporter
from benchmark.harness.provenance import provenance
from benchmark.harness.references import Reference, gold_model, original_model
from benchmark.harness.rows import CellSpec, make_row, undefined_reason
from benchmark.harness.schema import STATUS_SKIPPED
from benchmark.harness.threads import choose_threads, forward_mflops
from benchmark.harness.timing import speedup
from benchmark.harness.unlearning import Outcome, unlearn_in
from benchmark.models import resolved_options

# A model whose retain accuracy is below this many times chance (1 / classes) has collapsed:
# it no longer classifies, so its "forget accuracy 0" says nothing about forgetting.
COLLAPSE_FACTOR = 2.0
# An original below this many times chance on the test split is too weak to unlearn from:
# a 27 % CIFAR-10 original (100 images a class, 2 epochs) makes every comparison moot.
WEAK_ORIGINAL_FACTOR = 3.0


class GroupRun:
    """One (model, data set, seed) group: its original, then each forget set's cells.

    Each finished row goes to ``sink`` (the driver stores it; a Ray worker collects it).
    """

    def __init__(self, plan: Plan, group: Group, artifacts: ArtifactStore,
                 sink: Callable[[dict[str, Any]], None], reporter: Reporter) -> None:
        engine = plan.engine
        factory = group.factory
        threads_reason = None
        if engine.device.type == "cpu":  # before anything is timed: the count is part of the setup
            mflops = forward_mflops(factory(0), tuple(group.data.train_x.shape[1:]))
            threads, threads_reason = choose_threads(plan.engine_options.threads, mflops)
            torch.set_num_threads(threads)
        self.meta = provenance(engine) | {"threads": torch.get_num_threads(),
                                          "threads_reason": threads_reason}
        group.data = group.data.to(engine.device)
        normalizer = Normalizer(group.data.mean, group.data.std, engine.device)
        self.ctx = GroupContext(plan, group, artifacts, factory, normalizer, reporter)
        self.plan, self.group, self.engine, self.sink = plan, group, engine, sink
        self.warnings: list[str] = []
        self.original_path: str | None = None

    def run(self, cells: list[CellSpec], todo: set[str]) -> None:
        """Measure the cells in ``todo`` (the driver reports the others as already stored)."""
        ctx, group = self.ctx, self.group
        todo = set(todo)
        for item in cells:  # stored first: a forget set left with only these trains nothing
            reason = undefined_reason(item) if item.row_id in todo else None
            if reason:
                self._store(item, error=reason, status=STATUS_SKIPPED)
                todo.discard(item.row_id)
        if not todo:
            return
        original = original_model(ctx)
        self.original_path = original.path
        original_logits: OriginalLogits | None = None  # shared by the forget sets
        for forget in group.forget_sets:
            forget_cells = [c for c in cells if c.forget == forget]
            if not any(c.row_id in todo for c in forget_cells):  # stored by an earlier run
                continue
            if original.error:
                for item in forget_cells:
                    if item.row_id in todo:
                        self._store(item, error=original.error)
                continue
            gold = gold_model(ctx, forget, original.model)
            with ctx.reporter.phase(f"{ctx.where(forget)}: reference logits"):
                evaluator = Evaluator(ctx, forget, original.model, gold.model, original_logits)
                original_logits = evaluator.original_logits
            if not self.warnings:
                warning = weak_original_warning(evaluator.original_test_acc, group.data.num_classes)
                self.warnings = [warning] if warning else []
                if warning:
                    ctx.reporter.warn(f"{group.model}/{group.dataset} seed {group.seed}: {warning}")
            population = Population(ctx, forget, original.model) \
                if self.plan.metrics.population else None
            for item in forget_cells:
                if item.row_id not in todo:
                    continue
                self._measure(item, original, gold, evaluator, population)

    def _measure(self, item: CellSpec, original: Reference, gold: Reference,
                 evaluator: Evaluator, population: Population | None) -> None:
        label = f"{self.ctx.where(item.forget)}: {item.method}"
        with self.ctx.reporter.phase(f"{label} (unlearning)"):
            result = self._model_of(item, original, gold)
        timings: dict[str, Any] = {"unlearn_s": result.seconds, "samples_seen": result.samples_seen}
        if item.role is not Role.METHOD:
            reference = original if item.role is Role.ORIGINAL else gold
            timings.update(cached=reference.cached, measured_on=reference.setup)
        else:
            timings["measured_on"] = self.engine.setup()
        if result.failed:
            self._store(item, timings=timings, error=result.error)
            return
        try:
            with self.ctx.reporter.phase(f"{label} (metrics)"), self.engine.timer() as metric_time:
                metrics = evaluator.evaluate(result.model)
        except Exception as error:  # a metric that cannot handle this model must not stop the grid
            self._store(item, timings=timings,
                        error=f"metrics failed: {type(error).__name__}: {error}")
            return
        timings["metrics_s"] = metric_time["seconds"]
        metrics["time_s"] = result.seconds
        warnings = list(self.warnings)
        if population is not None:
            try:  # its pools train many models: its own time, never in the method's or metrics'
                with self.engine.timer() as population_time:
                    metrics.update(population.scores(self._population_of(item, population)))
                timings["population_s"] = population_time["seconds"]
            except Exception as error:  # the cell's own metrics stay; the row says what failed
                warnings.append(f"population metrics failed: {type(error).__name__}: {error}")
                self.ctx.reporter.warn(f"{label}: {warnings[-1]}")
        if item.role is not Role.ORIGINAL:
            value, note = speedup(gold.seconds, gold.setup, result.seconds, timings["measured_on"])
            metrics["speedup_vs_retrain"], metrics["speedup_note"] = value, note
            timings.update(gold_s=gold.seconds, gold_measured_on=gold.setup)
            if collapsed := collapse_warning(metrics, self.group.data.num_classes):
                warnings.append(collapsed)
                self.ctx.reporter.warn(f"{label}: {collapsed}")
        else:
            metrics["speedup_vs_retrain"] = None
        reference_path = {Role.ORIGINAL: original.path, Role.GOLD: gold.path}.get(item.role)
        self._store(item, metrics=metrics, timings=timings, warnings=warnings, model=result.model,
                    model_path=reference_path)

    @staticmethod
    def _population_of(item: CellSpec, population: Population) -> list[Outputs]:
        """The original's row: N originals; the gold's: a second retrained pool (the
        retrain-vs-retrain floor); a method's: the method from each of the N originals."""
        pool = {Role.ORIGINAL: "original", Role.GOLD: "retrain_b"}.get(item.role)
        return population.pool(pool) if pool else population.method(item.method)

    def _model_of(self, item: CellSpec, original: Reference, gold: Reference) -> Outcome:
        """The model of a cell: a reference as it is, or a method's timed output."""
        if item.role is Role.ORIGINAL:
            return Outcome(original.model, original.seconds)
        if item.role is Role.GOLD:
            return Outcome(gold.model, gold.seconds, gold.error, dict(gold.samples_seen))
        return unlearn_in(self.ctx, self.plan.method(item.method), item.forget, original.model)

    def _store(self, item: CellSpec, *, metrics: dict[str, Any] | None = None,
               timings: dict[str, Any] | None = None, error: str | None = None,
               warnings: list[str] | None = None, model: torch.nn.Module | None = None,
               model_path: str | None = None, status: str | None = None) -> None:
        row = make_row(item, self.plan, self.group.data, self.meta, metrics=metrics,
                       timings=timings, warnings=warnings, error=error, status=status)
        if model is not None and self.plan.save_models and item.role is Role.METHOD:
            model_path = str(self.ctx.artifacts.save("unlearned", item.row_id, model.state_dict(),
                                                     {"method": item.method}))
        row["artifacts"] = {
            "model_path": model_path,
            "original_path": self.original_path,
            "model_options": resolved_options(self.group.model, **item.model_kwargs),
        }
        self.sink(row)


def collapse_warning(metrics: dict[str, Any], num_classes: int) -> str | None:
    """A warning when retain accuracy fell to near chance (see COLLAPSE_FACTOR)."""
    retain = metrics.get("retain_acc_test")
    limit = COLLAPSE_FACTOR / num_classes
    if retain is None or retain != retain or retain >= limit:
        return None
    return (f"collapsed: retain accuracy {100 * retain:.1f}% is below {COLLAPSE_FACTOR:g}x chance "
            f"({100 * limit:.1f}%); its forget accuracy means nothing")


def weak_original_warning(test_acc: float | None, num_classes: int) -> str | None:
    """A warning when the original is barely above chance: every comparison is then moot."""
    limit = WEAK_ORIGINAL_FACTOR / num_classes
    if test_acc is None or test_acc != test_acc or test_acc >= limit:
        return None
    return (f"weak original: test accuracy {100 * test_acc:.1f}% is below {WEAK_ORIGINAL_FACTOR:g}x "
            f"chance ({100 * limit:.1f}%); train longer or on more data")
