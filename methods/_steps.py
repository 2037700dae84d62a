"""Mini-batch pieces shared by neggrad, bad_teacher and scrub (their losses are not plain CE).

``train_epoch`` (methods.api) covers training on labels; these methods need two data sets in
one step (NegGrad+), a loss that is maximised (SCRUB's max steps) or soft targets
(distillation). The pieces here keep them on the shared trainer's habits: data already on the
device, batches normalised there, channels_last and bf16 autocast when the Engine says so,
shuffling only from a seeded CPU generator (the same order on any device).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from methods.api import Engine, Normalizer, predict_logits


def index_batches(
    count: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> Iterator[torch.Tensor]:
    """One shuffled pass over ``range(count)`` in batches (the last one may be short)."""
    order = torch.randperm(count, generator=generator).to(device)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def forward(model: nn.Module, x: torch.Tensor, engine: Engine, normalizer: Normalizer) -> torch.Tensor:
    """Float32 logits of a batch of stored images, with gradients, as ``train_epoch`` runs it."""
    batch = normalizer(x)
    if engine.channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)
    with engine.autocast():
        logits = model(batch)
    return logits.float()


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimiser update on ``loss``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def soft_targets(
    model: nn.Module, x: torch.Tensor, temperature: float, engine: Engine, normalizer: Normalizer
) -> torch.Tensor:
    """A teacher's softmax at ``temperature`` on every image of ``x`` (eval mode, no grad).

    The teachers of both distillation methods are frozen and see un-augmented images, so their
    outputs per sample never change: computing them once equals a teacher pass per batch.
    """
    return (predict_logits(model, x, engine, normalizer) / temperature).softmax(dim=1)


def distill_kl(student_logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(targets || softmax(student / T)), summed over classes and averaged over the batch."""
    log_student = (student_logits / temperature).log_softmax(dim=1)
    return nn.functional.kl_div(log_student, targets, reduction="batchmean")
