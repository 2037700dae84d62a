"""The work an executor gets, and what it stores when a whole group fails.

A :class:`Job` is one (model, data set, seed) group with the ids of its cells still to
measure; the driver builds the jobs (benchmark.harness.runner) and every executor, local or
Ray, runs them and hands each row to the driver's :data:`Sink`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmark.harness.grid import Group
from benchmark.harness.plan import Plan
from benchmark.harness.provenance import provenance
from benchmark.harness.rows import CellSpec, make_row

Sink = Callable[[dict[str, Any]], None]


@dataclass
class Job:
    """A group and the ids of its cells still to measure (the others are stored)."""

    group: Group
    cells: list[CellSpec]
    todo: set[str]


def describe(error: BaseException) -> str:
    """``Type: message (at file:line)`` for a stored failure."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def failure_rows(plan: Plan, job: Job, error: str,
                 skip: set[str] = frozenset()) -> list[dict[str, Any]]:
    """A failure row for each cell of ``job`` still to measure (not in ``skip``)."""
    meta = provenance(plan.engine)
    rows = []
    for item in job.cells:
        if item.row_id in job.todo and item.row_id not in skip:
            row = make_row(item, plan, job.group.data, meta, error=f"group failed: {error}")
            row["artifacts"] = {}
            rows.append(row)
    return rows
