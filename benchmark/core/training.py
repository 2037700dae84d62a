"""The fast training loop every method and baseline reuses.

Data sits on the device as uint8; each batch is normalised (and, if asked, augmented) there;
bf16 autocast and channels_last on CUDA. No DataLoader: at CIFAR scale the Python loop over
pre-shuffled index tensors is not the bottleneck, and worker processes cost start-up time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn

from benchmark.core.config import check_bounds, setting
from benchmark.core.engine import Engine
from benchmark.core.epoch_checkpoint import EpochCheckpoint
from benchmark.core.progress import progress
from benchmark.core.tensors import (
    Augment,
    LabelledImages,
    Normalizer,
    TiledImages,
    shuffled_batches,
)

OptimizerName = Literal["sgd", "adam"]
ScheduleName = Literal["constant", "onecycle", "cosine", "plateau"]
ONECYCLE_WARMUP = 0.25  # the share of one-cycle's steps spent warming up
# One-cycle's warm-up ends at step ONECYCLE_WARMUP * total - 1; at or below step 0 (4 steps
# or fewer) torch divides by zero. The harness refuses such recipes before training
# (benchmark.harness.trainable); the loop says so too, for a method's own recipe.
MIN_ONECYCLE_STEPS = 5


@dataclass(frozen=True)
class TrainRecipe:
    """How an original (and its retrained gold model) is trained. Part of every cache key."""

    epochs: int = setting(15, ge=0)
    batch_size: int = setting(256, ge=1)
    optimizer: OptimizerName = "sgd"
    lr: float = setting(0.05, ge=0)
    momentum: float = setting(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = setting(5e-4, ge=0)
    schedule: ScheduleName = "onecycle"
    label_smoothing: float = setting(0.0, ge=0, lt=1)
    augment: bool = True
    crop_padding: int = setting(4, ge=0)
    flip: bool = True
    # Clip gradient *values* (not the norm), as the UNSIR reference code does; None = off.
    grad_clip_value: float | None = setting(None, gt=0)
    # ReduceLROnPlateau settings. The UNSIR reference code steps it on the *test* loss;
    # "test" reproduces that (test data then steers training: use only to reproduce it).
    plateau_factor: float = setting(0.5, gt=0, lt=1)
    plateau_patience: int = setting(3, ge=0)
    plateau_monitor: Literal["train", "test"] = "train"

    def __post_init__(self) -> None:
        check_bounds(self, "train")

    def as_dict(self) -> dict:
        return asdict(self)


def make_optimizer(
    params, name: OptimizerName, lr: float, weight_decay: float = 0.0, momentum: float = 0.9,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam, the two optimisers the suite's recipes use."""
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0,
            weight_decay=weight_decay,
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; use sgd or adam")


def train_epoch(
    model: nn.Module,
    parts: Sequence[LabelledImages | TiledImages],
    optimizer: torch.optim.Optimizer,
    engine: Engine,
    normalizer: Normalizer,
    batch_size: int,
    generator: torch.Generator,
    augment: Augment | None = None,
    label_smoothing: float = 0.0,
    grad_clip_value: float | None = None,
    after_step: Callable[[], None] | None = None,
) -> float:
    """One pass over the concatenation of ``parts``; returns the mean training loss."""
    model.train()
    total_loss = torch.zeros((), device=engine.device)
    steps = 0
    for xs, ys in shuffled_batches(parts, batch_size, generator):
        # One part (the usual case) needs no concatenation copy on the hot path.
        x = normalizer(xs[0]) if len(xs) == 1 else torch.cat([normalizer(p) for p in xs])
        y = ys[0] if len(ys) == 1 else torch.cat(ys)
        if augment is not None:
            x = augment(x)
        if engine.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with engine.autocast():
            loss = nn.functional.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip_value is not None:
            nn.utils.clip_grad_value_(model.parameters(), grad_clip_value)
        optimizer.step()
        if after_step is not None:
            after_step()
        total_loss += loss.detach().float()  # no .item(): keeps the GPU queue full
        steps += 1
    return float(total_loss) / max(steps, 1)


def train_with_recipe(
    model: nn.Module,
    data: LabelledImages,
    recipe: TrainRecipe,
    engine: Engine,
    normalizer: Normalizer,
    seed: int,
    monitor: LabelledImages | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    checkpoint: EpochCheckpoint | None = None,
) -> list[float]:
    """Train ``model`` in place on ``data`` with ``recipe``; returns the loss per epoch.

    ``monitor`` is the split whose loss drives the ``plateau`` schedule (the UNSIR reference
    code uses the test split; we follow it only in that schedule, and say so in the preset).
    ``checkpoint``: where the training saves its progress after epochs and resumes from
    after a kill (``benchmark.core.epoch_checkpoint``).
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(
        model.parameters(), recipe.optimizer, recipe.lr, recipe.weight_decay, recipe.momentum,
        recipe.nesterov,
    )
    steps_per_epoch = -(-len(data) // recipe.batch_size)
    scheduler, plateau = lr_schedule(optimizer, recipe, steps_per_epoch)
    after_step = scheduler.step if scheduler is not None else None
    augment = Augment(recipe.crop_padding, recipe.flip) if recipe.augment else None
    # Everything with a state the rest of the training depends on (see epoch_checkpoint).
    stateful = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "plateau": plateau}
    stateful = {name: part for name, part in stateful.items() if part is not None}
    first, losses = 0, []
    if checkpoint is not None:
        first, losses = checkpoint.restore(stateful, generator, engine.device)
    for epoch in range(first, recipe.epochs):
        started = time.perf_counter()
        loss = train_epoch(
            model, [data], optimizer, engine, normalizer, recipe.batch_size, generator,
            augment, recipe.label_smoothing, recipe.grad_clip_value, after_step,
        )
        losses.append(loss)
        progress(epoch + 1, recipe.epochs, f"loss {loss:.3f}")
        if plateau is not None:
            plateau.step(mean_loss(model, monitor if monitor is not None else data, engine, normalizer))
        if on_epoch is not None:
            on_epoch(epoch, loss)
        if checkpoint is not None:
            checkpoint.add_epoch(time.perf_counter() - started)
        if checkpoint is not None and epoch + 1 < recipe.epochs:
            checkpoint.maybe_save(epoch + 1, stateful, generator, engine.device, losses)
    return losses


def lr_schedule(optimizer: torch.optim.Optimizer, recipe: TrainRecipe, steps_per_epoch: int):
    """(a scheduler stepped every optimizer step, a plateau scheduler stepped once an epoch),
    either or both None."""
    total_steps = max(recipe.epochs * steps_per_epoch, 1)
    if recipe.schedule == "constant":
        return None, None
    if recipe.schedule == "plateau":
        return None, torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=recipe.plateau_factor, patience=recipe.plateau_patience
        )
    if recipe.schedule == "onecycle":
        if total_steps < MIN_ONECYCLE_STEPS:
            raise ValueError(f"the one-cycle schedule needs at least {MIN_ONECYCLE_STEPS} optimizer "
                             f"steps, not {total_steps} ({recipe.epochs} epoch(s) of "
                             f"{steps_per_epoch} batch(es)); train longer or on smaller batches")
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=recipe.lr, total_steps=total_steps, pct_start=ONECYCLE_WARMUP,
            anneal_strategy="linear", cycle_momentum=False,
        )
    elif recipe.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    else:
        raise ValueError(f"unknown schedule {recipe.schedule!r}")
    return scheduler, None


@torch.no_grad()
def predict_logits(
    model: nn.Module, x: torch.Tensor, engine: Engine, normalizer: Normalizer
) -> torch.Tensor:
    """Float32 logits for every image in ``x``, in large evaluation batches, eval mode."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, x.shape[0], engine.eval_batch_size):
        batch = normalizer(x[start : start + engine.eval_batch_size].to(engine.device))
        if engine.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with engine.autocast():
            outputs.append(model(batch).float())
    model.train(was_training)
    if not outputs:
        return torch.empty(0, 0, device=engine.device)
    return torch.cat(outputs)


def mean_loss(
    model: nn.Module, data: LabelledImages, engine: Engine, normalizer: Normalizer
) -> float:
    """Mean cross-entropy of ``model`` on ``data``."""
    logits = predict_logits(model, data.x, engine, normalizer)
    return float(nn.functional.cross_entropy(logits, data.y.to(logits.device)))
