"""ZRF, the zero retrain forgetting score (Chundawat et al., AAAI 2023, Sec. 4.2).

    ZRF = 1 - (1 / n) * sum_i JS( softmax(M(x_i)), softmax(T_d(x_i)) )

over the n forget samples x_i, where M is the unlearned model and T_d a randomly initialised
model of the same architecture (the "incompetent teacher"). A model whose predictions on the
forget set are as uninformative as a random network's scores 1; one that still predicts as
it did before scores lower. Needs no retrained model, hence the name.

JS is the textbook Jensen-Shannon divergence in bits (base 2), so JS and ZRF lie in [0, 1];
it is the same function as ``js_divergence`` in benchmark.metrics.gold. Deviation from the
reference code (github.com/vikram2000b/bad-teaching-unlearning, ``metrics.py``): its
``JSDiv`` uses ``F.kl_div(log p, m)`` (KL(m||p)) averaged over every element and natural
logs, which is not a JS divergence; our scores are therefore not comparable with its numbers.
"""

from __future__ import annotations

import math

from benchmark.metrics._tensors import ArrayLike
from benchmark.metrics.gold import gold_distance


def zrf_score(logits: ArrayLike, random_logits: ArrayLike) -> dict[str, float]:
    """``{"zrf": ...}`` of a model's forget-sample logits against a random model's."""
    js = gold_distance(logits, random_logits)["js_divergence"]
    return {"zrf": float("nan") if math.isnan(js) else 1.0 - js}
