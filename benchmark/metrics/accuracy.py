"""Top-1 accuracy overall and split into forget / retain classes.

The harness calls ``split_accuracies`` once per (model, split) on precomputed logits, for the
train and the test split; the keys are the same for both and the harness prefixes them.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from benchmark.metrics._tensors import ArrayLike, as_labels, as_logits


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of rows whose arg-max logit equals the label, in [0, 1]; NaN when empty.

    NaN (not 0) for an empty split, so "no samples" is never mistaken for "all wrong".
    """
    scores = as_logits(logits)
    targets = as_labels(labels, scores.device, scores.shape[0])
    if targets.numel() == 0:
        return float("nan")
    return float((scores.argmax(dim=1) == targets).double().mean())


def split_accuracies(
    logits: ArrayLike, labels: ArrayLike, forget_classes: Iterable[int]
) -> dict[str, float]:
    """Accuracy on the forget-class rows, the retained-class rows, and all rows.

    Returns ``{"forget_acc", "retain_acc", "overall_acc"}``, each a float in [0, 1], or NaN
    where that group has no rows (e.g. ``forget_acc`` of a split without forget classes).
    """
    scores = as_logits(logits)
    targets = as_labels(labels, scores.device, scores.shape[0])
    forget = torch.tensor(sorted(set(int(c) for c in forget_classes)), device=targets.device)
    in_forget = torch.isin(targets, forget)
    return {
        "forget_acc": accuracy(scores[in_forget], targets[in_forget]),
        "retain_acc": accuracy(scores[~in_forget], targets[~in_forget]),
        "overall_acc": accuracy(scores, targets),
    }
