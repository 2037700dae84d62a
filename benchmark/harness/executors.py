"""Where groups run: in this process (``local``, the default) or on a Ray cluster (``ray``).

An executor gets the jobs (one per (model, data set, seed) group with cells to measure)
and hands every finished row to the driver's sink, which alone writes the results
database. A job that fails as a whole (an exception outside a method, a worker that dies)
becomes failure rows for its cells, and the other jobs go on.
"""

from __future__ import annotations

from typing import Any, Protocol

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.errors import UserError
from benchmark.harness.group_run import GroupRun
from benchmark.harness.jobs import Job, Sink, describe, failure_rows
from benchmark.harness.plan import Plan
from benchmark.harness.progress import Reporter
from datasets.base import ImageDataset


class Executor(Protocol):
    def run(self, plan: Plan, jobs: list[Job], artifacts: ArtifactStore, sink: Sink,
            reporter: Reporter, data: dict[str, ImageDataset] | None) -> None: ...


class LocalExecutor:
    """Every group in this process, one after the other."""

    def run(self, plan: Plan, jobs: list[Job], artifacts: ArtifactStore, sink: Sink,
            reporter: Reporter, data: dict[str, ImageDataset] | None) -> None:
        for job in jobs:
            measured: set[str] = set()

            def record(row: dict[str, Any], measured: set[str] = measured) -> None:
                measured.add(row["row_id"])
                sink(row)

            try:
                GroupRun(plan, job.group, artifacts, record, reporter).run(job.cells, job.todo)
            except (KeyboardInterrupt, UserError):
                raise  # Ctrl-C, a full disk or a bad setting stop the run, as they should
            except Exception as error:  # a bug outside a method: this group fails, others go on
                for row in failure_rows(plan, job, describe(error), skip=measured):
                    sink(row)


def executor_for(plan: Plan) -> Executor:
    """The executor ``plan.executor`` names (the plan checked the name)."""
    if plan.executor == "ray":
        from benchmark.harness.ray_executor import RayExecutor

        return RayExecutor(plan.ray_address)
    return LocalExecutor()
