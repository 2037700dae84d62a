"""What ``metrics.population=N`` adds to a run's estimate (benchmark.harness.estimate).

A population is far more work than its cells: N originals a group, and a forget set's 2N
retrained models (two pools: R, and R' for the gold row) and N runs of each method, each
model's outputs on the population's examples. Counted with the calibrated speed of the
group's model, one model at a time, whether or not the pools train stacked: a stack was 2.4x
faster than its members one after the other for the default preset's 1-MFLOP model, but
for `population-cifar10`'s ResNet-9 at width 8 the 32-member stacks took 1.5x the estimate
(24 min against 16; the whole run 0.73x of its estimate, docs/BENCHMARKS.md). Members
already in the cache (under their stacked or their lone key) are loaded, not counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.hashing import stable_hash
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.harness.grid import Group
from benchmark.harness.jobs import Job
from benchmark.harness.plan import Plan
from benchmark.harness.population import member_seeds
from benchmark.harness.references import STACKED, key_parts
from datasets.forget_sets import ForgetSet


def stored(artifacts: ArtifactStore, kind: str, parts: dict[str, Any]) -> bool:
    """Whether ``references`` will load the model of these key parts: file and .json sidecar."""
    path = artifacts.path(kind, stable_hash(parts))
    return path.exists() and path.with_suffix(".json").exists()


def missing_members(plan: Plan, group: Group, pool: str, artifacts: ArtifactStore | None,
                    extra: dict[str, Any]) -> int:
    """Members of ``pool`` that are stored under neither their stacked nor their lone key."""
    n = plan.metrics.population
    if artifacts is None:
        return n
    kind = Role.ORIGINAL.value if pool == "original" else Role.GOLD.value
    missing = 0
    for seed in member_seeds(group.seed, pool, n):
        parts = key_parts(plan, dataclasses.replace(group, seed=seed)) | extra
        missing += not any(stored(artifacts, kind, parts | mark) for mark in (STACKED, {}))
    return missing


def population_seconds(plan: Plan, job: Job, forget: ForgetSet, todo: list[Any],
                       artifacts: ArtifactStore | None,
                       train_original: float, method_seconds: Callable[[str], float],
                       outputs_seconds: float, originals_counted: bool) -> dict[str, float]:
    """Seconds by part for one forget set's population (and the group's originals, unless
    ``originals_counted``): ``todo`` the forget set's cells still to measure,
    ``method_seconds(name)`` one run of a method (the gold's included), ``outputs_seconds``
    one model's outputs on the population's examples."""
    n = plan.metrics.population
    group = job.group
    parts: dict[str, float] = {}
    if not originals_counted:
        missing = missing_members(plan, group, "original", artifacts, {})
        parts["population originals"] = missing * train_original
    gold = {"forget": forget, "config": plan.method(GOLD_METHOD).config}
    retrain_pools = ["retrain"] + (["retrain_b"] if any(c.role is Role.GOLD for c in todo) else [])
    missing = sum(missing_members(plan, group, pool, artifacts, gold) for pool in retrain_pools)
    parts["population retrains"] = missing * method_seconds(GOLD_METHOD)
    methods = [c.method for c in todo if c.role is Role.METHOD]
    parts["population runs"] = n * sum(method_seconds(m) for m in methods)
    # Outputs: the originals and the retrained pools once, then every method's N models.
    parts["population outputs"] = (n * (1 + len(retrain_pools) + len(methods))
                                   * outputs_seconds)
    return parts
