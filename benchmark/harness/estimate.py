"""What a run will cost, estimated before it starts, from a few timed steps on this device.

For each (model, data set) the estimate times ``STEPS`` training steps at the recipe's batch
size (after one untimed step), which gives images per second here, then counts the images
the run trains on: the original (epochs x training set) and one gold retrain per forget set
(epochs x retain set), plus one evaluation pass over both splits per row (at three times
the training rate, a forward pass being about a third of a training step). A run whose
references need under ``SMALL_RUN_GFLOP`` by the models' FLOP counts is not timed at all
(it takes seconds; the default preset is one). Methods and the
relearn metric come on top, so the figure is a lower bound; cached originals and gold
models make it an upper bound for those parts. It is meant to catch the hour-long surprise,
not to schedule.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import make_optimizer, train_epoch
from benchmark.harness.grid import Group
from benchmark.harness.plan import Plan

STEPS = 3
# Below this many training GFLOP (forward x 3, the references' images) a run is too small to
# be worth timing steps for: a few seconds on any CPU. The default preset is about 30.
SMALL_RUN_GFLOP = 200.0


@dataclass(frozen=True)
class Estimate:
    seconds: float
    images_per_s: dict[str, float]  # "model/dataset" -> measured training rate

    def text(self) -> str:
        minutes = self.seconds / 60
        when = f"{minutes:.0f} min" if minutes >= 2 else f"{self.seconds:.0f} s"
        return f"at least {when} of training and evaluation on this device"


def estimate(plan: Plan, groups: list[Group]) -> Estimate:
    """Seconds the references' training and the evaluations of ``groups`` take at least."""
    rates: dict[str, float] = {}
    seconds = 0.0
    if plan.made_for != "gpu" and _training_gflop(plan, groups) < SMALL_RUN_GFLOP:
        return Estimate(0.0, {})
    for group in groups:
        key = f"{group.model}/{group.dataset}"
        recipe = plan.recipe(group.model, group.dataset)
        if key not in rates:
            rates[key] = _training_rate(group, plan.engine, recipe.batch_size,
                                        plan.model_kwargs.get(group.model, {}))
        data = group.data
        n_train, n_test = len(data.train_y), len(data.test_y)
        images = recipe.epochs * n_train
        for forget in group.forget_sets:
            images += recipe.epochs * (n_train - forget.size(data))
        rows = len(group.forget_sets) * (2 + len(group.methods))
        seconds += images / rates[key] + rows * (n_train + n_test) / (3 * rates[key])
    return Estimate(seconds, rates)


def _training_gflop(plan: Plan, groups: list[Group]) -> float:
    """Training GFLOP of the references from the models' forward FLOP counts (no timing)."""
    from benchmark.harness.threads import forward_mflops

    total = 0.0
    for group in groups:
        data = group.data
        recipe = plan.recipe(group.model, group.dataset)
        with torch.random.fork_rng():
            model = group.model_factory(plan.model_kwargs.get(group.model, {}))(0)
        mflops = forward_mflops(model, tuple(data.train_x.shape[1:]))
        if mflops is None:
            return float("inf")  # cannot count: time it
        images = recipe.epochs * len(data.train_y) * (1 + len(group.forget_sets))
        total += 3 * mflops * images / 1000
    return total


def _training_rate(group: Group, engine: Engine, batch_size: int, kwargs: Mapping[str, Any]) -> float:
    """Training images per second of the group's model on this device (a few steps)."""
    devices = [engine.device.index or 0] if engine.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # estimating must not move a seeded stream
        return _timed_steps(group, engine, batch_size, kwargs)


def _timed_steps(group: Group, engine: Engine, batch_size: int, kwargs: Mapping[str, Any]) -> float:
    data = group.data
    batch = min(batch_size, len(data.train_y))
    model = engine.prepare(group.model_factory(kwargs)(0))
    optimizer = make_optimizer(model.parameters(), "sgd", 1e-3)
    normalizer = Normalizer(data.mean, data.std, engine.device)
    generator = torch.Generator().manual_seed(0)
    sample = LabelledImages(data.train_x[:batch], data.train_y[:batch]).to(engine.device)
    train_epoch(model, [sample], optimizer, engine, normalizer, batch, generator)
    engine.synchronize()
    start = time.perf_counter()
    for _ in range(STEPS):
        train_epoch(model, [sample], optimizer, engine, normalizer, batch, generator)
    engine.synchronize()
    return STEPS * batch / max(time.perf_counter() - start, 1e-9)
