"""The Ray executor on a local Ray cluster started here (CPU only): the same numbers as the
local executor, failure rows for failed tasks, resume, and checkpoints without a shared folder.

Skipped with the reason when Ray is not installed (``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e \".[ray]\"")
# slow: a local Ray cluster, CI runs these in its slow step; one xdist group, so that one
# worker starts and stops one cluster for the module (pytest --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

from benchmark.core.artifacts import ArtifactStore  # noqa: E402
from benchmark.harness.grid import expand  # noqa: E402
from benchmark.harness.jobs import Job  # noqa: E402
from benchmark.harness.plan import plan_of  # noqa: E402
from benchmark.harness.ray_executor import RayExecutor, run_group  # noqa: E402
from benchmark.harness.rows import group_cells  # noqa: E402
from benchmark.harness.runner import run  # noqa: E402

TIMING_KEYS = {"time_s", "speedup_vs_retrain", "speedup_note"}


@pytest.fixture(scope="module", autouse=True)
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def grid(tiny_spec, tmp_path):
    """Two seeds of the tiny grid, one thread per group so both executors compute alike."""
    tiny_spec.methods = ["unsir", "finetune"]
    tiny_spec.seeds = [0, 1]
    tiny_spec.engine = dataclasses.replace(tiny_spec.engine, threads=1)
    tiny_spec.metrics = dataclasses.replace(tiny_spec.metrics, relearn=False)
    return tiny_spec


def _metrics(path: str) -> dict[str, dict]:
    with sqlite3.connect(path) as connection:
        return {row_id: {k: v for k, v in __import__("json").loads(m).items() if k not in TIMING_KEYS}
                for row_id, m in connection.execute("SELECT row_id, metrics FROM results")}


def test_both_executors_store_the_same_metrics(grid, tmp_path) -> None:
    local = dataclasses.replace(grid, results=str(tmp_path / "local.sqlite"),
                                cache_dir=str(tmp_path / "local-cache"))
    remote = dataclasses.replace(grid, results=str(tmp_path / "ray.sqlite"),
                                 cache_dir=str(tmp_path / "ray-cache"), executor="ray")
    run(local)
    rows = run(remote)
    assert len(rows) == 8 and all(row["status"] == "ok" for row in rows)
    assert _metrics(local.results) == _metrics(remote.results)  # same ids, same numbers


def test_a_stopped_ray_run_resumes_with_the_unfinished_groups(grid, monkeypatch) -> None:
    grid.executor = "ray"
    collected = []
    real = RayExecutor._collect

    def stop_after_the_first(*args):
        if collected:
            raise KeyboardInterrupt
        collected.append(1)
        real(*args)

    monkeypatch.setattr(RayExecutor, "_collect", staticmethod(stop_after_the_first))
    with pytest.raises(KeyboardInterrupt):
        run(grid)
    with sqlite3.connect(grid.results) as connection:
        first = dict(connection.execute("SELECT row_id, created_at FROM results"))
    assert len(first) == 4  # one group of two finished
    monkeypatch.undo()
    rows = run(grid)
    assert len(rows) == 8
    with sqlite3.connect(grid.results) as connection:
        after = dict(connection.execute("SELECT row_id, created_at FROM results"))
    assert all(after[row_id] == created for row_id, created in first.items())  # not redone


def test_a_task_whose_worker_dies_becomes_failure_rows(grid) -> None:
    @ray.remote(max_retries=0)
    def dies() -> None:
        os._exit(1)

    plan = plan_of(dataclasses.replace(grid, seeds=[0]))
    (group,) = expand(plan)
    cells = [c for c in group_cells(plan, group) if c.method in ("original", "retrain", "unsir")]
    job = Job(group, cells, {c.row_id for c in cells})
    rows: list[dict] = []
    RayExecutor._collect(ray, dies.remote(), plan, job, ArtifactStore(plan.checkpoint_dir),
                         rows.append)
    assert [row["status"] for row in rows] == ["failed"] * 3
    assert all(row["error"].startswith("group failed: ") for row in rows)


def test_without_a_shared_cache_checkpoints_come_back_to_the_driver(grid) -> None:
    plan = plan_of(dataclasses.replace(grid, seeds=[0]))
    (group,) = expand(plan)
    result = run_group(plan, (group.model, group.dataset, 0),
                       {c.row_id for c in group_cells(plan, group)}, ".ray-shared-not-there", None)
    assert result["folder"] != str(grid.checkpoint_dir())  # a private folder of the worker
    kinds = sorted(kind for kind, _, _, _ in result["checkpoints"])
    assert kinds == ["original", "retrain"]
    assert len(result["rows"]) == 4


def test_ray_groups_report_their_phases_to_the_driver(grid, tmp_path) -> None:
    """Issue 24: a Ray run printed only "1 group(s) on Ray: 25.2 s"; now every phase a worker
    finishes is a line on the driver, naming its group."""
    import io

    from rich.console import Console

    from benchmark.harness.progress import Reporter

    grid.seeds = [0]
    remote = dataclasses.replace(grid, results=str(tmp_path / "ray.sqlite"),
                                 cache_dir=str(tmp_path / "cache"), executor="ray")
    buffer = io.StringIO()
    run(remote, Reporter.rich(Console(file=buffer, force_terminal=False, width=80)))
    lines = buffer.getvalue().splitlines()
    assert any(re.fullmatch(r"ray: smallcnn/synthetic seed 0: training original: \d+\.\d s", line)
               for line in lines), lines
    assert any(re.fullmatch(r"ray: .*: unsir \(metrics\): \d+\.\d s", line) for line in lines)
    assert any(re.fullmatch(r"1 group on Ray: \d+\.\d s", line) for line in lines)
