"""Where the predictions for the forget-class test samples go after unlearning.

The UNSIR paper's point: after unlearning, the forget-class samples are spread over the
retained classes rather than dumped on one of them (which would itself leak which class was
removed). These numbers describe the histogram of arg-max predictions:

- ``pred_histogram``: count of predictions per class (list of ints, length ``num_classes``)
- ``pred_entropy``: Shannon entropy of the normalised histogram, in bits
- ``pred_entropy_normalised``: that / log2(num_classes); 1 = uniform, 0 = one class
- ``pred_kl_from_uniform``: KL(histogram || uniform) in bits, = log2(num_classes) - entropy
- ``pred_top_class_share``: share of the most predicted class

With ``retain_classes``, the same five numbers are also given with the prefix
``pred_retained_`` (e.g. ``pred_retained_entropy``) for the arg-max taken over the retained
classes' logits only: the class the model would pick if forced to choose a retained one.
That uses every sample (unlike dropping the ones still predicted as a forget class), so it
is defined for the original model as well, and uniform means uniform over the retained
classes. Its histogram still has length ``num_classes`` (zeros at the forget classes) so
class ids index it directly.

Empty input gives an all-zero histogram and NaN for the other numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from benchmark.metrics._tensors import ArrayLike, as_logits


def _describe(predicted: torch.Tensor, num_classes: int, support: int, prefix: str) -> dict:
    """Histogram statistics over ``support`` possible classes (the uniform reference)."""
    counts = torch.bincount(predicted.cpu(), minlength=num_classes)
    total = int(counts.sum())
    result: dict = {f"{prefix}histogram": [int(c) for c in counts]}
    if total == 0:
        for key in ("entropy", "entropy_normalised", "kl_from_uniform", "top_class_share"):
            result[prefix + key] = float("nan")
        return result
    share = counts.double() / total
    nonzero = share[share > 0]
    entropy = float(-(nonzero * nonzero.log2()).sum())
    max_entropy = math.log2(support)
    result[f"{prefix}entropy"] = entropy
    # One possible class: every histogram is "uniform"; there is nothing to normalise by.
    result[f"{prefix}entropy_normalised"] = entropy / max_entropy if support > 1 else float("nan")
    result[f"{prefix}kl_from_uniform"] = max(max_entropy - entropy, 0.0)
    result[f"{prefix}top_class_share"] = float(share.max())
    return result


def prediction_distribution(
    logits: ArrayLike, num_classes: int, retain_classes: Sequence[int] | None = None
) -> dict:
    """Statistics of the arg-max predictions of ``logits`` (see the module docstring for keys).

    ``logits`` are usually the model's outputs on the forget-class test samples.
    """
    if num_classes < 1:
        raise ValueError("num_classes must be at least 1")
    scores = as_logits(logits)
    if scores.shape[0] == 0:
        # predict_logits returns shape (0, 0) for an empty split.
        scores = scores.new_zeros((0, num_classes))
    if scores.shape[1] != num_classes:
        raise ValueError(f"logits have {scores.shape[1]} columns for {num_classes} classes")
    result = _describe(scores.argmax(dim=1), num_classes, num_classes, "pred_")
    if retain_classes is not None:
        kept = sorted(set(int(c) for c in retain_classes))
        if not kept or kept[0] < 0 or kept[-1] >= num_classes:
            raise ValueError(f"retain_classes must be a non-empty subset of 0..{num_classes - 1}")
        index = torch.tensor(kept, device=scores.device)
        # Map the arg-max over the retained columns back to class ids.
        predicted = index[scores[:, index].argmax(dim=1)]
        result.update(_describe(predicted, num_classes, len(kept), "pred_retained_"))
    return result
