"""The Ray executor: one Ray task per (model, data set, seed) group.

Each task loads its group's data, trains or loads the group's original, then measures its
cells exactly as the local executor does (benchmark.harness.group_run), and returns the
rows; the driver stores them as tasks finish, so the results database has one writer. A
task asks for one GPU when the run uses CUDA, else ``engine.threads`` CPUs (at least one).

Checkpoints: a worker writes to the run's cache folder when it can see it (one machine, or
a folder shared by every node: NFS, a cluster file system). The driver leaves a marker file
there, and a worker that does not find it caches in a temporary folder of its own and sends
the new checkpoints back through Ray's object store; the driver saves them in its cache.

A task that raises or whose worker dies becomes failure rows for its cells (with the error)
and the grid goes on. Cells whose task had not finished when the driver was stopped are not
stored, so the next run measures them again: resume works as with the local executor.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.errors import UserError
from benchmark.harness.grid import expand
from benchmark.harness.group_run import GroupRun
from benchmark.harness.jobs import Job, Sink, describe, failure_rows
from benchmark.harness.plan import Plan
from benchmark.harness.progress import ForwardingReporter, Reporter
from benchmark.harness.rows import group_cells
from datasets.base import ImageDataset

MARKER_PREFIX = ".ray-shared-"
LINE_POLL_S = 2.0  # how often the driver prints the phase lines its workers sent


def _print_lines(lines: Any, reporter: Reporter) -> None:
    """Print every phase line the workers have sent so far (each names its group)."""
    while not lines.empty():
        reporter.note(f"ray: {lines.get_nowait()}")


class RecordingStore(ArtifactStore):
    """An artifact store that also keeps what it saved, to send it back to the driver."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__(folder)
        self.saved: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def save(self, kind: str, key: str, payload: dict[str, Any], meta: dict[str, Any]) -> Path:
        self.saved.append((kind, key, {k: v.detach().cpu() if hasattr(v, "detach") else v
                                       for k, v in payload.items()}, meta))
        return super().save(kind, key, payload, meta)


def run_group(plan: Plan, job_index: tuple[str, str, int], todo: set[str], marker: str,
              data: dict[str, ImageDataset] | None, lines: Any = None) -> dict[str, Any]:
    """The body of one Ray task: the rows of one group, and checkpoints if not shared.

    ``lines``: a Ray queue the group's phase lines go to, for the driver to print (None:
    silent)."""
    model, dataset, seed = job_index
    one = plan.narrowed(models=[model], datasets=[dataset], seeds=[seed])
    (group,) = expand(one, data)
    shared = (plan.checkpoint_dir / marker).exists()
    folder = plan.checkpoint_dir if shared else Path(tempfile.mkdtemp(prefix="unlearn-ray-"))
    store = RecordingStore(folder)
    rows: list[dict[str, Any]] = []
    reporter = Reporter.silent() if lines is None else ForwardingReporter(lines.put_nowait)
    GroupRun(one, group, store, rows.append, reporter).run(group_cells(one, group), todo)
    return {"rows": rows, "checkpoints": [] if shared else store.saved, "folder": str(folder)}


class RayExecutor:
    """Groups as Ray tasks; rows stored by the driver as each task finishes."""

    def __init__(self, address: str | None) -> None:
        self.address = address

    def run(self, plan: Plan, jobs: list[Job], artifacts: ArtifactStore, sink: Sink,
            reporter: Reporter, data: dict[str, ImageDataset] | None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError('--executor ray needs Ray: pip install -e ".[ray]"') from None
        if not jobs:
            return
        if not ray.is_initialized():
            if self.address:
                from benchmark.harness.prechecks import check_ray_address

                check_ray_address(self.address)  # checked before the run too; it may have gone
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as error:  # e.g. "auto" with no cluster running
                first = (str(error).strip() or type(error).__name__).splitlines()[0]
                raise UserError(f"cannot join the Ray cluster at {self.address}: {first}") from None
        marker = f"{MARKER_PREFIX}{secrets.token_hex(8)}"
        marker_path = artifacts.folder / marker
        marker_path.touch()
        resources = {"num_gpus": 1} if plan.engine.device.type == "cuda" else \
            {"num_cpus": max(1, plan.engine_options.threads)}
        task = ray.remote(run_group).options(max_retries=0, **resources)
        from ray.util.queue import Queue

        lines = Queue(actor_options={"num_cpus": 0})  # the workers' phase lines, to print here
        pending = {task.remote(plan, (j.group.model, j.group.dataset, j.group.seed), j.todo,
                               marker, data, lines): j for j in jobs}
        try:
            with reporter.phase(f"{len(jobs)} group{'' if len(jobs) == 1 else 's'} on Ray"):
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1, timeout=LINE_POLL_S)
                    _print_lines(lines, reporter)
                    if done:
                        job = pending.pop(done[0])
                        self._collect(ray, done[0], plan, job, artifacts, sink)
                _print_lines(lines, reporter)
        finally:
            lines.shutdown()
            marker_path.unlink(missing_ok=True)
            for ref in pending:  # a stopped driver: unfinished groups are redone next time
                ray.cancel(ref, force=True)

    @staticmethod
    def _collect(ray: Any, ref: Any, plan: Plan, job: Job, artifacts: ArtifactStore,
                 sink: Sink) -> None:
        try:
            result = ray.get(ref)
        except Exception as error:  # the task raised, or its worker died
            cause = getattr(error, "cause", None) or error
            for row in failure_rows(plan, job, describe(cause)):
                sink(row)
            return
        for kind, key, payload, meta in result["checkpoints"]:
            artifacts.save(kind, key, payload, meta)  # the driver's cache, for later runs
        for row in result["rows"]:
            if result["checkpoints"]:  # paths into the worker's folder now live in the driver's
                row["artifacts"] = {k: v.replace(result["folder"], str(artifacts.folder))
                                    if isinstance(v, str) else v
                                    for k, v in row["artifacts"].items()}
            sink(row)
