"""Checks that a run's outputs can be written, made before any data is loaded or trained.

A results file that is read-only, a cache folder that is a file or not writable, a disk
without room for the checkpoints: each is one line (exit 2) at the start, not a traceback
after an hour of training. These checks write nothing; the store and the cache are opened
(and created) only once the data has been loaded and the forget sets parsed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmark.core.artifacts import StorageError
from benchmark.core.errors import UserError
from benchmark.harness.grid import Group
from benchmark.harness.paths import existing_ancestor, write_problem
from benchmark.harness.plan import Plan
from benchmark.harness.store import check_ours

SPARE_BYTES = 64 * 2**20  # room left for the results database and the decode cache


def check_outputs(plan: Plan) -> None:
    """Raise StorageError/UserError unless the results file and cache folder are writable."""
    results = Path(plan.results)
    if results.is_dir():
        raise UserError(f"results path {results} is a folder; give a file such as results.sqlite")
    _check_writable(results, "results file", is_folder=False)
    check_ours(results)
    cache = plan.cache_root
    if cache.exists() and not cache.is_dir():
        raise StorageError(f"cache folder {cache} is a file; give a folder with --cache-dir")
    _check_writable(cache, "cache folder", is_folder=True)


def check_free_space(plan: Plan, groups: list[Group]) -> None:
    """Raise StorageError when the cache's disk cannot hold the checkpoints of this run."""
    need = SPARE_BYTES
    for group in groups:
        per_forget = 1 + (len(group.methods) if plan.save_models else 0)
        need += group.weight_bytes * (1 + per_forget * len(group.forget_sets))
        # A population caches N originals and 2N retrained models a forget set.
        n = plan.metrics.population
        need += group.weight_bytes * n * (1 + 2 * len(group.forget_sets))
    folder = existing_ancestor(plan.cache_root)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise StorageError(f"not enough free disk for this run's checkpoints under {folder}: "
                           f"{free / 2**20:.0f} MiB free, about {need / 2**20:.0f} MiB needed; "
                           "free space or use another --cache-dir")


def _check_writable(path: Path, what: str, is_folder: bool) -> None:
    target = path.expanduser().absolute()
    if target.exists() and not os.access(target, os.W_OK):
        raise StorageError(f"the {what} {target} is not writable; give a writable one")
    folder = target if is_folder and target.exists() else existing_ancestor(target.parent)
    if not folder.is_dir():
        raise StorageError(f"cannot create the {what} {target}: {folder} is not a folder")
    if problem := write_problem(folder):
        raise StorageError(f"cannot write the {what} {target}: {folder} is not writable "
                           f"({problem})")
