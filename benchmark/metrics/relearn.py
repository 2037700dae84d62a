"""Relearn time: how quickly a model regains the forgotten classes when trained on them again.

The idea is from Golatkar et al., "Eternal Sunshine of the Spotless Net" (CVPR 2020): if an
"unlearned" model still holds information about the forget classes, a little fine-tuning
brings them back much faster than for a model that never learned them. The UNSIR paper
(Tarun et al., TNNLS 2023) reports it in epochs, against the retrained model as reference.

Definition (precise; the docs quote it)
---------------------------------------
Inputs: a model M, a fixed relearn set R (built by the harness, e.g. a class-balanced subset
of the full training set with samples of the forget AND the retained classes), a forget-
evaluation set F (forget-class samples), and a threshold t (a forget accuracy in [0, 1]; the
harness chooses it, e.g. a fraction of the original model's forget accuracy).

1. A deep copy of M is fine-tuned on R with cross-entropy, no augmentation, the given
   optimiser ("adam" or "sgd" with momentum 0.9), learning rate ``lr``, no weight decay and
   no schedule, batch size ``batch_size``, every parameter trainable (also ones M had
   frozen), through the shared loop ``benchmark.core.training.train_epoch``. Data order and the
   global RNG (dropout) are seeded from ``seed``; the caller's RNG state is restored after.
   M itself is never modified.
2. Checks: the top-1 accuracy of the copy on all of F (eval mode) is measured before any
   training (step 0), after every epoch, and, with ``evaluate_every_steps=k``, after every
   k-th optimiser step (counted over the whole run, not reset each epoch).
3. The model has relearned at the first check whose accuracy is >= t; training stops there.
   ``relearn_steps`` = optimiser steps taken up to that check;
   ``relearn_epochs`` = ceil(relearn_steps / steps_per_epoch), the epochs started by then,
   so 0 when M already meets t before training and 1 when t is reached anywhere in epoch 1.
4. If no check within ``max_epochs`` epochs reaches t: ``relearned`` is False and
   ``relearn_epochs`` / ``relearn_steps`` are None, not the cap. The value is censored
   (">max_epochs"); reports must not average it as if it were the cap.

Returned keys: ``relearn_epochs`` (int | None), ``relearn_steps`` (int | None),
``relearned`` (bool), ``relearn_cap_epochs`` (= max_epochs), ``relearn_threshold`` (= t),
``relearn_curve`` (forget accuracy at each check, the step-0 check first),
``relearn_curve_steps`` (the optimiser step of each check), ``relearn_steps_per_epoch``.

On CUDA, cuDNN autotuning and bf16 make the run reproducible only up to kernel choice; on
the CPU it is bit-for-bit repeatable.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator

import torch
from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import OptimizerName, make_optimizer, predict_logits, train_epoch
from benchmark.metrics.accuracy import accuracy


class _Reached(Exception):
    """Raised from the per-step callback to leave ``train_epoch`` at the first success."""


@contextlib.contextmanager
def _seeded_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the global RNG for the block and give the caller's state back afterwards."""
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def relearn_time(
    model: nn.Module,
    relearn_set: LabelledImages,
    forget_eval: LabelledImages,
    threshold: float,
    engine: Engine,
    normalizer: Normalizer,
    *,
    max_epochs: int = 10,
    batch_size: int = 256,
    lr: float = 1e-3,
    optimizer: OptimizerName = "adam",
    seed: int = 0,
    evaluate_every_steps: int | None = None,
) -> dict:
    """Fine-tune a copy of ``model`` on ``relearn_set`` until its accuracy on ``forget_eval``
    reaches ``threshold``; see the module docstring for the exact definition and keys."""
    if len(relearn_set) == 0 or len(forget_eval) == 0:
        raise ValueError("relearn_set and forget_eval must both be non-empty")
    if max_epochs < 0 or batch_size < 1:
        raise ValueError("max_epochs must be >= 0 and batch_size >= 1")
    if evaluate_every_steps is not None and evaluate_every_steps < 1:
        raise ValueError("evaluate_every_steps must be None or >= 1")
    if not math.isfinite(threshold):
        raise ValueError("threshold must be a finite accuracy")

    learner = engine.prepare(copy.deepcopy(model))
    learner.requires_grad_(True)
    data = relearn_set.to(engine.device)
    eval_x, eval_y = forget_eval.x.to(engine.device), forget_eval.y.to(engine.device)
    steps_per_epoch = -(-len(data) // batch_size)
    curve: list[float] = []
    curve_steps: list[int] = []
    step = 0

    def check() -> bool:
        acc = accuracy(predict_logits(learner, eval_x, engine, normalizer), eval_y)
        curve.append(acc)
        curve_steps.append(step)
        return acc >= threshold

    def after_step() -> None:
        nonlocal step
        step += 1
        # Epoch ends are checked by the outer loop; checking here too would log them twice.
        if (
            evaluate_every_steps is not None
            and step % evaluate_every_steps == 0
            and step % steps_per_epoch != 0
            and check()
        ):
            raise _Reached

    reached_at: int | None = 0 if check() else None
    if reached_at is None:
        with _seeded_rng(seed, engine.device):
            generator = torch.Generator().manual_seed(seed)
            opt = make_optimizer(learner.parameters(), optimizer, lr)
            for _ in range(max_epochs):
                try:
                    train_epoch(
                        learner,
                        [data],
                        opt,
                        engine,
                        normalizer,
                        batch_size,
                        generator,
                        after_step=after_step,
                    )
                except _Reached:
                    reached_at = step
                    break
                if check():
                    reached_at = step
                    break

    return {
        "relearn_epochs": None if reached_at is None else -(-reached_at // steps_per_epoch),
        "relearn_steps": reached_at,
        "relearned": reached_at is not None,
        "relearn_cap_epochs": int(max_epochs),
        "relearn_threshold": float(threshold),
        "relearn_curve": curve,
        "relearn_curve_steps": curve_steps,
        "relearn_steps_per_epoch": int(steps_per_epoch),
    }
