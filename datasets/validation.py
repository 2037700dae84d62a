"""A validation split carved out of the training data, for tuning without the test split.

:func:`validation_view` returns the data set with its training split divided in two: the
``test_*`` fields hold the validation samples and ``train_*`` the rest, so the harness runs
unchanged on it (its "test" accuracies are then validation accuracies, and the original and
gold models of the view are trained without the validation samples). The view is built from
the training tensors alone: the data set's own test tensors are never read, not even their
shape, so tuning cannot leak the test split (tests/test_tuning.py poisons them to prove it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from benchmark.core.errors import UserError
from benchmark.core.seeding import seeded_generator
from datasets.base import ImageDataset

VALIDATION_SALT = 17  # a stream of its own: the split must not move with other uses of the seed


@dataclass(frozen=True)
class ValidationSplit:
    """How a validation split was drawn: stored with every tuned file, so it can be redrawn."""

    fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.fraction < 1:
            raise UserError(f"validation fraction must be between 0 and 1, not {self.fraction:g}")


def validation_rows(labels: torch.Tensor, split: ValidationSplit) -> torch.Tensor:
    """Sorted row numbers of the validation samples: ``round(fraction * n_c)`` of each class
    (at least one, and at least one left for training), drawn with the split's seed."""
    labels = labels.cpu()
    generator = seeded_generator(split.seed, VALIDATION_SALT)
    chosen = []
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).flatten()
        if members.numel() < 2:
            raise UserError(f"class {cls} has {members.numel()} training sample(s); a validation "
                            "split needs at least 2 per class")
        count = min(max(1, round(split.fraction * members.numel())), members.numel() - 1)
        chosen.append(members[torch.randperm(members.numel(), generator=generator)[:count]])
    return torch.cat(chosen).sort().values


def validation_view(data: ImageDataset, split: ValidationSplit) -> ImageDataset:
    """``data`` with train = its training samples outside the validation split, test = those
    inside (stratified per class, see :func:`validation_rows`). ``data.test_*`` is never read."""
    rows = validation_rows(data.train_y, split)
    held = torch.zeros(len(data.train_y), dtype=torch.bool)
    held[rows] = True
    keep = torch.nonzero(~held).flatten()
    fine = data.train_fine_y
    # Every field is given, so dataclasses.replace reads none of the old test tensors.
    return dataclasses.replace(
        data,
        name=f"{data.name}[validation {split.fraction:g}, seed {split.seed}]",
        train_x=data.train_x[keep], train_y=data.train_y[keep],
        test_x=data.train_x[rows], test_y=data.train_y[rows],
        train_fine_y=None if fine is None else fine[keep],
        test_fine_y=None if fine is None else fine[rows],
    )
