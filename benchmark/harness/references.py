"""The two reference models of every forget set: the original and the gold retrain.

Both are cached in the artifact store under a key of everything that decides their
weights: model and options, data set and a fingerprint of its tensors, seed, training
recipe, device type, precision and memory layout (and, for the gold model, the forget set
and the retrain method's settings). A cached entry keeps the time it took and the setup it
was timed on (host, device, threads, precision), so a speedup is never a CPU time divided
by a GPU time. An entry that fails to load is rebuilt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.epoch_checkpoint import EpochCheckpoint
from benchmark.core.hashing import stable_hash
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.core.tensors import LabelledImages
from benchmark.core.training import train_with_recipe
from benchmark.harness.grid import Group, GroupContext
from benchmark.harness.plan import Plan
from benchmark.harness.timing import warm_up
from benchmark.harness.unlearning import non_finite, unlearn_in
from datasets.forget_sets import ForgetSet

log = logging.getLogger(__name__)

# Bump when the training loop changes in a way that changes trained weights: old cached
# checkpoints then stop matching instead of being silently reused.
TRAINING_CODE_VERSION = 1
# Marks the key of a model trained stacked with others (benchmark.harness.pool_training):
# it equals its lone training only in exact arithmetic, so it is never taken for the model
# a run of its seed trains alone, nor the reverse. Bump the number when
# benchmark.core.stacked_training changes trained weights.
STACKED = {"trained": "stacked-1"}


@dataclass
class Reference:
    """A reference model with its time, or the reason there is none."""

    model: nn.Module | None
    seconds: float | None
    setup: dict[str, Any] | None  # where ``seconds`` was measured
    cached: bool
    path: str
    error: str | None = None
    samples_seen: dict[str, int] = field(default_factory=dict)


def _key_parts(ctx: GroupContext) -> dict[str, Any]:
    return key_parts(ctx.plan, ctx.group)


def key_parts(plan: Plan, group: Group) -> dict[str, Any]:
    """What the original's cache key hashes (the gold's adds its forget set and config)."""
    return {"model": group.model, "kwargs": dict(plan.model_kwargs.get(group.model, {})),
            "dataset": group.dataset, "data_fingerprint": group.data_fingerprint,
            "seed": group.seed, "recipe": plan.recipe(group.model, group.dataset),
            "data": plan.data, "code": TRAINING_CODE_VERSION, "device": plan.engine.device.type,
            "precision": plan.engine.precision, "channels_last": plan.engine.channels_last}


def original_key(ctx: GroupContext, stacked: bool = False) -> str:
    """The cache key of the group's original (of one trained stacked with others)."""
    return stable_hash(_key_parts(ctx) | (STACKED if stacked else {}))


def gold_key(ctx: GroupContext, forget: ForgetSet, stacked: bool = False) -> str:
    """The cache key of the gold model of ``forget`` (of one trained stacked with others)."""
    parts = _key_parts(ctx) | {"forget": forget, "config": ctx.plan.method(GOLD_METHOD).config}
    return stable_hash(parts | (STACKED if stacked else {}))


def cached_model(ctx: GroupContext, role: Role, key: str) -> Reference | None:
    """The model stored under ``key`` for ``role``, or None when absent or unusable."""
    store = ctx.artifacts
    model = ctx.engine.prepare(ctx.factory(0 if role is Role.ORIGINAL else 1))
    meta = _load(store, role.value, key, model)
    if meta is None:
        return None
    return Reference(model.eval(), meta.get("seconds"), meta.get("setup"), True,
                     str(store.path(role.value, key)), samples_seen=meta.get("samples_seen", {}))


def reference_keys(plan: Plan, group: Group, forget: ForgetSet) -> dict[str, str]:
    """``{"original": key, "retrain": key}``: the cache keys of a forget set's references,
    known without training (``run --dry-run`` shows which are cached)."""
    parts = key_parts(plan, group)
    gold = parts | {"forget": forget, "config": plan.method(GOLD_METHOD).config}
    return {Role.ORIGINAL.value: stable_hash(parts), Role.GOLD.value: stable_hash(gold)}


def _load(store: ArtifactStore, kind: str, key: str, model: nn.Module) -> dict[str, Any] | None:
    """Load a cached entry into ``model``; its metadata, or None when absent or unusable."""
    cached = store.load(kind, key)
    if cached is None:
        return None
    try:
        model.load_state_dict(cached[0])
    except (RuntimeError, KeyError, ValueError) as error:  # passed its checksum, wrong shape
        log.warning("cached %s %s does not fit the model (%s); rebuilding it", kind, key, error)
        return None
    return cached[1]


def original_model(ctx: GroupContext) -> Reference:
    """The group's original (trained on every class), loaded from the cache or trained."""
    store, engine, group, recipe = ctx.artifacts, ctx.engine, ctx.group, ctx.recipe
    kind, key = Role.ORIGINAL.value, original_key(ctx)  # = reference_keys(...)
    path = str(store.path(kind, key))
    model = engine.prepare(ctx.factory(0))
    meta = _load(store, kind, key, model)
    if meta is not None:
        return Reference(model.eval(), meta.get("seconds"), meta.get("setup"), True, path)
    data = group.data
    monitor = LabelledImages(data.test_x, data.test_y) if recipe.plateau_monitor == "test" else None
    warm_up(model, engine, ctx.normalizer, tuple(data.train_x.shape[1:]), data.num_classes)
    checkpoint = EpochCheckpoint(store, f"partial_{kind}", key)
    with ctx.reporter.phase(f"{ctx.where()}: training original"), engine.timer() as timing:
        train_with_recipe(model, LabelledImages(data.train_x, data.train_y), recipe, engine,
                          ctx.normalizer, group.seed, monitor, checkpoint=checkpoint)
    problem = non_finite(model)
    if problem:
        return Reference(None, None, None, False, path, f"original diverged while training: {problem}")
    seconds = timing["seconds"] + checkpoint.resumed_seconds
    setup = _timed_setup(engine.setup(), checkpoint, seconds, ctx)
    store.save(kind, key, model.state_dict(), {"seconds": seconds, "setup": setup,
                                               **_resumed(checkpoint)})
    checkpoint.remove()
    return Reference(model.eval(), seconds, setup, False, path)


def _timed_setup(setup: dict[str, Any], checkpoint: EpochCheckpoint, seconds: float,
                 ctx: GroupContext) -> dict[str, Any]:
    """The setup a reference's time was measured on, with ``disturbed`` (why the time is not
    comparable: a pause or other work, benchmark.core.epoch_checkpoint) when it was; speed-ups
    against it are then refused (benchmark.harness.timing.speedup)."""
    disturbed = checkpoint.disturbance(seconds)
    if disturbed:
        role = checkpoint.kind.removeprefix("partial_")
        ctx.reporter.warn(f"{ctx.where()}: the {role} model's time ({seconds:.0f} s) is not "
                          f"comparable: {disturbed}; speed-ups against it are left out")
    return setup | ({"disturbed": disturbed} if disturbed else {})


def _resumed(checkpoint: EpochCheckpoint) -> dict[str, float]:
    """What a cached entry records of a training resumed after a kill: its time is the sum of
    two runs' epochs, each under its own load."""
    return {"resumed_after_s": checkpoint.resumed_seconds} if checkpoint.resumed_seconds else {}


def gold_model(ctx: GroupContext, forget: ForgetSet, original: nn.Module) -> Reference:
    """The model retrained without ``forget`` (the gold reference), cached or trained.

    Trained by the ``retrain`` method through the same timed call as every other method.
    """
    method = ctx.plan.method(GOLD_METHOD)
    store, kind = ctx.artifacts, Role.GOLD.value
    key = gold_key(ctx, forget)
    path = str(store.path(kind, key))
    model = ctx.engine.prepare(ctx.factory())
    meta = _load(store, kind, key, model)
    if meta is not None:
        return Reference(model.eval(), meta.get("seconds"), meta.get("setup"), True, path,
                         samples_seen=meta.get("samples_seen", {}))
    checkpoint = EpochCheckpoint(store, f"partial_{kind}", key)
    with ctx.reporter.phase(f"{ctx.where()}: retraining without {forget.label}"):
        outcome = unlearn_in(ctx, method, forget, original, checkpoint)
    if outcome.failed:
        return Reference(None, outcome.seconds, None, False, path, outcome.error,
                         outcome.samples_seen)
    seconds = outcome.seconds + checkpoint.resumed_seconds
    setup = _timed_setup(ctx.engine.setup(), checkpoint, seconds, ctx)
    store.save(kind, key, outcome.model.state_dict(), {
        "seconds": seconds, "setup": setup, "samples_seen": outcome.samples_seen,
        **_resumed(checkpoint)})
    checkpoint.remove()
    return Reference(outcome.model, seconds, setup, False, path,
                     samples_seen=outcome.samples_seen)
