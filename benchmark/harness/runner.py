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

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.errors import RunStopped
from benchmark.harness.estimate import estimate
from benchmark.harness.executors import executor_for
from benchmark.harness.grid import Group, checkpoint_bytes, expand
from benchmark.harness.jobs import Job
from benchmark.harness.paths import check_free_space, check_outputs
from benchmark.harness.plan import Plan, plan_of
from benchmark.harness.population import training_count
from benchmark.harness.prechecks import applicability_warnings
from benchmark.harness.progress import Reporter
from benchmark.harness.rows import group_cells
from benchmark.harness.schema import STATUS_FAILED
from benchmark.harness.spec import RunSpec
from benchmark.harness.store import ResultStore
from benchmark.harness.trainable import check_loaded
from datasets.base import ImageDataset


@dataclass
class RunOutcome:
    """The rows of a run (measured now or already stored) and how many of each."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    measured: int = 0
    skipped: int = 0
    failed: int = 0

    def summary(self) -> str:
        text = f"{_count(self.measured, 'row')} measured, {self.skipped} already stored"
        return text + (f", {self.failed} failed" if self.failed else "")

    @property
    def all_failed(self) -> bool:
        """Every cell measured now failed (none measured: False; stored rows don't count)."""
        return self.measured > 0 and self.failed == self.measured

    def first_error(self) -> str | None:
        """The error of the first failed row of this run, one line."""
        for row in self.rows:
            if row.get("status") == STATUS_FAILED and row.get("error"):
                return " ".join(str(row["error"]).split())
        return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def stop_reason(row: dict[str, Any]) -> str | None:
    """Why ``--fail-fast`` stops at ``row``: a failed cell or a weak original; else None."""
    where = f"{row['model']}/{row['dataset']} forget {row['forget']} seed {row['seed']}"
    if row["status"] == STATUS_FAILED:
        return f"{where} {row['method']} failed: {' '.join(str(row['error']).split())}"
    weak = next((w for w in row.get("warnings") or () if w.startswith("weak original")), None)
    return f"{where}: {weak}" if weak else None


def run(plan: Plan | RunSpec, reporter: Reporter | None = None) -> list[dict[str, Any]]:
    """Run every cell of ``plan``; the rows of this run (measured now or already stored)."""
    return run_grid(plan, reporter).rows


def run_grid(plan: Plan | RunSpec, reporter: Reporter | None = None,
             data: dict[str, ImageDataset] | None = None,
             warn_inapplicable: bool = True) -> RunOutcome:
    """Run every cell of ``plan``; see the module docstring for what happens when.

    A RunSpec is resolved into its plan first (benchmark.harness.plan.plan_of). ``data``
    supplies data sets by name instead of loading them (see ``grid.expand``). Settings a
    method says cannot work on a forget set (``prechecks.applicability_warnings``) are
    warned about before any training unless ``warn_inapplicable`` is False (a tuning trial:
    the tuner draws such settings on purpose and scores what they do).
    """
    plan = plan if isinstance(plan, Plan) else plan_of(plan)
    reporter = reporter or Reporter.silent()
    check_outputs(plan.results, plan.cache_root)  # before the data is loaded: nothing is written yet
    reporter.start()
    try:
        with reporter.phase("loading data sets"):
            groups = expand(plan, data)
        check_loaded(groups, plan.recipe, plan.instances, reporter.note)
        if warn_inapplicable:
            for line in applicability_warnings(groups, plan.instances):
                reporter.warn(line)
        check_free_space(plan.cache_root, checkpoint_bytes(plan, groups))
        if plan.metrics.population:
            reporter.note(population_cost(plan, groups))
        artifacts = ArtifactStore(plan.checkpoint_dir, "checkpoint cache folder")
        return _run_groups(plan, groups, artifacts, reporter, data)
    finally:
        reporter.finish()


def population_cost(plan: Plan, groups: list[Group]) -> str:
    """What ``metrics.population`` adds, said before the run starts (cached models are loaded)."""
    n = plan.metrics.population
    total = sum(training_count(n, len(g.forget_sets), len(g.methods)) for g in groups)
    return (f"population of {n}: {total} trainings and unlearning runs besides the cells "
            f"({n} originals a group, {2 * n} retrained models and {n} runs of each method a "
            "forget set; models already in the cache are loaded, not trained)")


def _announce_cost(plan: Plan, jobs: list[Job], cells: int, artifacts: ArtifactStore,
                   reporter: Reporter) -> None:
    """Say what the work left will cost (or that there is none); warn when a GPU preset meets a CPU."""
    with reporter.phase("estimating the cost"):
        cost = estimate(plan, jobs, artifacts, cells)
    if cost.nothing_to_do:
        reporter.note(cost.text())
    elif plan.engine.device.type == "cpu" and plan.made_for == "gpu":
        reporter.warn(f"preset {plan.preset!r} is made for a GPU; on this CPU it needs {cost.text()}"
                      " (Ctrl-C stops it; finished rows stay stored)")
    else:
        reporter.note(f"estimated: {cost.text()}{whole_command(cost.seconds)}")


def whole_command(seconds_left: float) -> str:
    """``; 40 s for the whole command`` (start-up included) when run as ``python -m benchmark``."""
    from benchmark.core.command_clock import since_start
    from benchmark.harness.estimate import duration

    elapsed = since_start()
    return "" if elapsed is None else f"; {duration(elapsed + seconds_left)} for the whole command"


def _run_groups(plan: Plan, groups: list[Group], artifacts: ArtifactStore, reporter: Reporter,
                data: dict[str, ImageDataset] | None) -> RunOutcome:
    """Skip what is stored, hand the rest to the executor, store its rows as they come."""
    outcome = RunOutcome()
    with ResultStore(plan.results) as store:
        jobs, total, skipped = [], 0, []
        for group in groups:
            cells = group_cells(plan, group)
            total += len(cells)
            todo = {c.row_id for c in cells} if plan.rerun else store.missing(c.row_id for c in cells)
            stored = store.rows(c.row_id for c in cells if c.row_id not in todo)
            outcome.rows += stored
            outcome.skipped += len(stored)
            if stored:
                skipped.append((len(stored), f"{group.model}/{group.dataset}/seed {group.seed}: "
                                             f"{len(stored)} of {len(cells)} cells"))
            if todo:
                jobs.append(Job(group, cells, todo))
        reporter.set_total(total)
        for count, what in skipped:
            reporter.skip(count, what)
        _announce_cost(plan, jobs, total, artifacts, reporter)

        def sink(row: dict[str, Any]) -> None:
            store.put(row)  # the driver is the only writer, whatever the executor
            outcome.rows.append(row)
            outcome.measured += 1
            outcome.failed += int(row["status"] == STATUS_FAILED)
            reporter.advance(row)
            if plan.fail_fast and (reason := stop_reason(row)):
                raise RunStopped(f"--fail-fast: stopped at {reason} (rows so far are stored; "
                                 "run again without --fail-fast to go on)")

        executor_for(plan).run(plan, jobs, artifacts, sink, reporter, data)
    return outcome
