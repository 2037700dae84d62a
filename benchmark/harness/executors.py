"""Where groups run: in this process (``local``, the default) or on a Ray cluster (``ray``).

An executor gets the jobs (one per (model, data set, seed) group with cells to measure)
and hands every finished row to the driver's sink, which alone writes the results
database. A job that fails as a whole (an exception outside a method, a worker that dies)
becomes failure rows for its cells, and the other jobs go on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.engine import Engine
from benchmark.core.errors import UserError
from benchmark.harness.grid import Group
from benchmark.harness.group_run import GroupRun
from benchmark.harness.progress import Reporter
from benchmark.harness.provenance import provenance
from benchmark.harness.rows import make_row
from benchmark.harness.spec import CellSpec, RunSpec
from datasets.base import ImageDataset

Sink = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "ray")


@dataclass
class Job:
    """A group and the ids of its cells still to measure (the others are stored)."""

    group: Group
    cells: list[CellSpec]
    todo: set[str]


class Executor(Protocol):
    def run(self, spec: RunSpec, engine: Engine, jobs: list[Job], artifacts: ArtifactStore,
            sink: Sink, reporter: Reporter, data: dict[str, ImageDataset] | None) -> None: ...


class LocalExecutor:
    """Every group in this process, one after the other."""

    def run(self, spec: RunSpec, engine: Engine, jobs: list[Job], artifacts: ArtifactStore,
            sink: Sink, reporter: Reporter, data: dict[str, ImageDataset] | None) -> None:
        for job in jobs:
            measured: set[str] = set()

            def record(row: dict[str, Any], measured: set[str] = measured) -> None:
                measured.add(row["row_id"])
                sink(row)

            try:
                GroupRun(spec, job.group, engine, artifacts, record, reporter).run(job.cells, job.todo)
            except (KeyboardInterrupt, UserError):
                raise  # Ctrl-C, a full disk or a bad setting stop the run, as they should
            except Exception as error:  # a bug outside a method: this group fails, others go on
                for row in failure_rows(spec, engine, job, describe(error), skip=measured):
                    sink(row)


def describe(error: BaseException) -> str:
    """``Type: message (at file:line)`` for a stored failure."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def failure_rows(spec: RunSpec, engine: Engine, job: Job, error: str,
                 skip: set[str] = frozenset()) -> list[dict[str, Any]]:
    """A failure row for each cell of ``job`` still to measure (not in ``skip``)."""
    meta = provenance(engine)
    rows = []
    for item in job.cells:
        if item.row_id in job.todo and item.row_id not in skip:
            row = make_row(item, spec, {}, {}, meta, [], f"group failed: {error}", job.group.data)
            row["artifacts"] = {}
            rows.append(row)
    return rows


def executor_for(spec: RunSpec) -> Executor:
    """The executor ``spec.executor`` names."""
    if spec.executor == "ray":
        from benchmark.harness.ray_executor import RayExecutor

        return RayExecutor(spec.ray_address)
    if spec.executor != "local":
        raise UserError(f"unknown executor {spec.executor!r}; use {' or '.join(EXECUTORS)}")
    return LocalExecutor()
