"""How close a model's outputs are to the gold (retrained-from-scratch) model's outputs.

Computed on the forget-class test samples: a good unlearning method should behave there like
a model that never saw those classes, not merely be wrong.

- ``activation_distance``: mean over samples of the L2 distance between the two softmax
  vectors, as in Chundawat et al., "Can Bad Teaching Induce Forgetting?" (AAAI 2023) code
  (``actv_dist``). Range [0, sqrt(2)].
- ``js_divergence``: mean over samples of the Jensen-Shannon divergence between the two
  softmax vectors, **in bits** (log base 2), so it lies in [0, 1]. We compute the textbook
  JS = (KL(p||m) + KL(q||m)) / 2 with m = (p + q) / 2 per sample and average over samples;
  the reference code's ``JSDiv`` (``F.kl_div(log p, m)``, i.e. KL(m||p), averaged over every
  element) is not a JS divergence, so its numbers are not comparable with ours.

Both are exactly 0 for identical inputs and NaN for empty ones.
"""

from __future__ import annotations

import math

import torch

from benchmark.metrics._tensors import ArrayLike, as_logits, softmax_and_log, xlogy_rows


def gold_distance(logits: ArrayLike, gold_logits: ArrayLike) -> dict[str, float]:
    """Activation distance and JS divergence (bits) between two sets of logits, row by row."""
    scores = as_logits(logits)
    gold = as_logits(gold_logits).to(scores.device)
    if scores.shape != gold.shape:
        raise ValueError(f"logits {tuple(scores.shape)} and gold logits {tuple(gold.shape)} differ")
    if scores.shape[0] == 0:
        return {"activation_distance": float("nan"), "js_divergence": float("nan")}
    p, _ = softmax_and_log(scores)
    q, _ = softmax_and_log(gold)
    activation = torch.linalg.vector_norm(p - q, dim=1).mean()
    m = (p + q) / 2
    # log of p, q and m taken the same way, so identical rows give log(p/m) == 0 exactly.
    log_m = torch.log(m)
    kl_pm = xlogy_rows(p, torch.log(p) - log_m)
    kl_qm = xlogy_rows(q, torch.log(q) - log_m)
    js_bits = ((kl_pm + kl_qm) / (2 * math.log(2))).clamp_min(0)
    return {"activation_distance": float(activation), "js_divergence": float(js_bits.mean())}
