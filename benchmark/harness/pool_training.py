"""How a population's pools train: the members together (stacked) where that applies, else
one after the other.

A pool is N originals or N retrained models of one architecture, data set and recipe,
differing only in their seeds. ``metrics.population_training`` says how they train:

- ``auto`` (the default): stacked when the model is small (below ``STACK_MAX_MFLOPS``
  forward MFLOPs an image: where per-layer overheads, not arithmetic, take the time) and
  it can be stacked; else one after the other, with the reason in one line;
- ``stacked``: stacked whenever it can be, whatever the model's size;
- ``sequential``: one after the other, each member trained as a run of its seed would.

Stacked members train in chunks of at most ``MAX_STACK`` and of what fits in a share of the
free memory, on the threads a model of the chunk's size would get (benchmark.harness.
threads: one thread for a small model alone, the free cores for a stack of them). A member
trained stacked equals its lone training in exact arithmetic only, so it is cached under its
lone key plus ``references.STACKED``: a stacked and a sequential member are never taken for
each other, and each chunk's members are stored as soon as the chunk ends (a killed pool
resumes from the members stored). Within one kind, a member's weights can differ in their
last bits with the chunk it trained in (the grouped kernels' blocking); a member once stored
is always loaded, never retrained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from benchmark.core.packed import Unstackable, check_packed
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.core.stacked_training import (
    StackMember,
    global_rng_state,
    member_bytes,
    recipe_problem,
    train_stacked,
)
from benchmark.core.tensors import LabelledImages
from benchmark.core.training import TrainRecipe
from benchmark.harness.grid import GroupContext
from benchmark.harness.references import gold_key, original_key
from benchmark.harness.requests import request_in
from benchmark.harness.threads import SMALL_MODEL_MFLOPS, choose_threads, forward_mflops
from benchmark.harness.unlearning import non_finite
from datasets.forget_sets import ForgetSet

STACK_MAX_MFLOPS = SMALL_MODEL_MFLOPS  # "auto" stacks models below this (forward, an image)
MAX_STACK = 64  # members a stack trains at once, at most
MEMORY_SHARE = {"cpu": 0.25, "cuda": 0.5}  # of the free memory a stack may take
FALLBACK_FREE_BYTES = 2 * 2**30  # where the free memory cannot be read


@dataclass(frozen=True)
class PoolTraining:
    """How a group's pools train: ``stacked``, else ``reason`` says why not (one line)."""

    stacked: bool
    reason: str | None = None
    mflops: float | None = None  # forward MFLOPs of one member, an image

    @property
    def name(self) -> str:
        return "stacked" if self.stacked else "sequential"


def decide(ctx: GroupContext) -> PoolTraining:
    """Whether the pools of ``ctx``'s group train stacked, and why not when they do not."""
    asked = ctx.plan.metrics.population_training
    if asked == "sequential":
        return PoolTraining(False, "metrics.population_training=sequential")
    problem = recipe_problem(ctx.recipe)
    if problem is None and not hasattr(ctx.plan.method(GOLD_METHOD), "training"):
        problem = "the retrain method does not say how it trains"
    if problem:
        return PoolTraining(False, problem)
    shape = tuple(ctx.group.data.train_x.shape[1:])
    with _forked_rng(ctx):  # building models draws from the global RNG: leave it as it was
        models = [ctx.engine.prepare(ctx.factory(salt)) for salt in (0, 1)]
    mflops = forward_mflops(models[0], shape)
    if asked == "auto" and (mflops is None or mflops > STACK_MAX_MFLOPS):
        size = "of unknown size" if mflops is None else f"of {mflops:.1f} MFLOPs an image"
        return PoolTraining(False, f"a model {size} (above {STACK_MAX_MFLOPS:g}): its "
                                   "arithmetic, not overheads, takes the time; "
                                   "metrics.population_training=stacked stacks it", mflops)
    try:
        check_packed(models, shape, ctx.engine.device)
    except Unstackable as error:
        return PoolTraining(False, f"{ctx.group.model} cannot be stacked: {error}", mflops)
    return PoolTraining(True, None, mflops)


def stacked_key(member: GroupContext, role: Role, forget: ForgetSet) -> str:
    """The cache key of a pool member trained stacked."""
    if role is Role.ORIGINAL:
        return original_key(member, stacked=True)
    return gold_key(member, forget, stacked=True)


def train_missing(members: list[GroupContext], role: Role, forget: ForgetSet,
                  training: PoolTraining) -> int:
    """Train together, chunk by chunk, the members whose stacked model is not stored yet,
    and store each; how many were trained. A diverged member raises RuntimeError."""
    store = members[0].artifacts
    missing = [m for m in members
               if not store.path(role.value, stacked_key(m, role, forget)).exists()]
    if not missing:
        return 0
    size = chunk_size(missing[0], len(missing))
    for start in range(0, len(missing), size):
        _train_chunk(missing[start:start + size], role, forget, training)
    return len(missing)


def chunk_size(ctx: GroupContext, wanted: int) -> int:
    """Members one stack trains at once: at most MAX_STACK and what fits in memory."""
    with _forked_rng(ctx):
        model = ctx.engine.prepare(ctx.factory(0))
    need = member_bytes(model, tuple(ctx.group.data.train_x.shape[1:]), ctx.recipe.batch_size)
    device = ctx.engine.device
    budget = _free_bytes(device) * MEMORY_SHARE.get(device.type, 0.25)
    return max(1, min(wanted, MAX_STACK, int(budget // max(need, 1))))


def _train_chunk(chunk: list[GroupContext], role: Role, forget: ForgetSet,
                 training: PoolTraining) -> None:
    stack: list[StackMember] = []
    data, recipe = None, None
    for member in chunk:  # one copy of the data kept: the members' data sets are equal
        job, own_data, own_recipe = _job(member, role, forget)
        if data is None:
            data, recipe = own_data, own_recipe
        elif len(own_data) != len(data) or own_recipe != recipe:
            raise RuntimeError("population members differ in their data or recipe; "
                               "cannot stack them")
        stack.append(job)
    engine = chunk[0].engine
    mflops = None if training.mflops is None else training.mflops * len(chunk)
    with _threads(chunk[0], mflops), engine.timer() as timing:
        train_stacked(stack, data, recipe, engine, chunk[0].normalizer)
    setup = engine.setup()
    for member, job in zip(chunk, stack, strict=True):
        problem = non_finite(job.model)
        if problem:
            raise RuntimeError(f"population member seed {member.group.seed} diverged while "
                               f"training stacked: {problem}")
        member.artifacts.save(role.value, stacked_key(member, role, forget),
                              job.model.state_dict(),
                              {"seconds": timing["seconds"] / len(chunk), "setup": setup,
                               "stacked": len(chunk)})


def _job(member: GroupContext, role: Role, forget: ForgetSet
         ) -> tuple[StackMember, LabelledImages, TrainRecipe]:
    """A member as its lone training would start: its model, data, recipe and RNG state."""
    engine = member.engine
    if role is Role.ORIGINAL:  # as references.original_model
        model = engine.prepare(member.factory(0))
        data = LabelledImages(member.group.data.train_x, member.group.data.train_y)
        recipe, seed = member.recipe, member.group.seed
    else:  # as the retrain method in unlearning.timed_unlearn
        method = member.plan.method(GOLD_METHOD)
        request = request_in(member, method, forget)
        torch.manual_seed(member.group.seed)
        model, data, recipe, seed = method.training(request)
    state = global_rng_state(engine.device) if recipe.augment else None
    return StackMember(model, seed, state), data, recipe


@contextlib.contextmanager
def _threads(ctx: GroupContext, mflops: float | None) -> Iterator[None]:
    """The CPU threads a model of the stack's size gets (restored after)."""
    if ctx.engine.device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    threads, _ = choose_threads(ctx.plan.engine_options.threads, mflops)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _forked_rng(ctx: GroupContext) -> Iterator[None]:
    device = ctx.engine.device
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        yield


def _free_bytes(device: torch.device) -> float:
    if device.type == "cuda":
        return float(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(FALLBACK_FREE_BYTES)
