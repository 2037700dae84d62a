"""Forget-set parsing and the forget/retain split of a data set's samples."""

from __future__ import annotations

import torch

from benchmark.core.errors import UserError
from benchmark.core.tensors import LabelledImages, balanced_subset, class_mask

__all__ = ["balanced_subset", "check_forget_classes", "class_mask", "parse_forget",
           "split_forget_retain"]


def parse_forget(text: str, num_classes: int) -> list[tuple[int, ...]]:
    """Turn a ``--forget`` value into forget sets (each a sorted tuple of class ids).

    ``"3"`` -> one class; ``"0,2"`` -> classes 0 and 2 together; ``"random:20"`` -> 20 classes
    drawn with seed 0 (``"random:20:7"`` draws with seed 7; the draw does not depend on the
    training seed, so seeds vary training and not the task); ``"each"`` -> every class alone.
    """
    text = text.strip()
    if text == "each":
        sets = [(c,) for c in range(num_classes)]
    elif text.startswith("random:"):
        sets = [_random_classes(text, num_classes)]
    else:
        try:
            ids = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise UserError(
                f"bad --forget {text!r}; use class ids like 3 or 0,2, random:K[:SEED] or each"
            ) from None
        if not ids:
            raise UserError("--forget is empty; give class ids like 3 or 0,2")
        if len(set(ids)) != len(ids):
            raise UserError(f"--forget {text!r} repeats a class id")
        sets = [tuple(sorted(ids))]
    for classes in sets:
        check_forget_classes(classes, num_classes)
    return sets


def _random_classes(text: str, num_classes: int) -> tuple[int, ...]:
    parts = text.split(":")
    try:
        count = int(parts[1])
        seed = int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        raise UserError(f"bad --forget {text!r}; use random:K or random:K:SEED") from None
    if not 0 < count < num_classes:
        raise UserError(f"--forget {text!r}: K must be between 1 and {num_classes - 1}")
    generator = torch.Generator().manual_seed(seed)
    return tuple(sorted(torch.randperm(num_classes, generator=generator)[:count].tolist()))


def check_forget_classes(classes: tuple[int, ...], num_classes: int) -> None:
    """Raise UserError unless ``classes`` is a non-empty proper subset of the class ids."""
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise UserError(
            f"forget class id(s) {bad} out of range; this data set has classes 0..{num_classes - 1}"
        )
    if not classes:
        raise UserError("no forget class given")
    if len(set(classes)) >= num_classes:
        raise UserError("cannot forget every class: at least one class must be retained")


def split_forget_retain(
    x: torch.Tensor, y: torch.Tensor, forget_classes: tuple[int, ...]
) -> tuple[LabelledImages, LabelledImages]:
    """(forget, retain) samples of one split; each holds only its own rows (copies)."""
    mask = class_mask(y, forget_classes)
    return LabelledImages(x[mask], y[mask]), LabelledImages(x[~mask], y[~mask])
