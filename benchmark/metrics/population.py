"""Per-example forgetting tests between two populations of models: unlearned vs retrained.

Both take, for every example, the outputs of N unlearned models and of N models retrained
without the forget set, and ask how well the two populations can be told apart *example by
example* (a single-model attack averages that away; Hayes et al. 2024, arXiv 2403.01218).

Forgetting quality F (the NeurIPS 2023 unlearning competition; Triantafillou et al. 2024,
arXiv 2406.09073, and the organisers' evaluation note of August 2023; constants as in the
organisers' code, google-deepmind/unlearning_evaluation, metric.py):

- each model's output on an example is its *logit-scaled confidence*
  log p(y) - log(1 - p(y)) (computed as log p(y) - log sum_{c != y} p(c));
- per example, two families of threshold attacks try to separate the populations: one
  threshold (predict "positive" above it; positive = the population with the larger median)
  and two thresholds (predict "positive" inside an interval; positive = the population with
  the smaller spread, the interval's width within 2 of that spread). Each attack's false
  positive and false negative rates give epsilon = max(log(1 - delta - FPR) - log FNR,
  log(1 - delta - FNR) - log FPR), clipped at 0, with delta = 1e-5; an attack with exactly
  one of FPR, FNR zero is discarded (too few samples to tell), one that separates the two
  perfectly gives infinity; the example's epsilon is the largest over attacks, clipped to
  [0, 50]. An example whose populations differ in spread by over 100x gets 50 outright.
- each example scores 2^-k for the k-th half-unit bucket its epsilon falls in ([0, 0.5)
  scores 1, [0.5, 1) 1/2, ...) up to ceil(log(N - 1)); beyond that, 0. F is the mean over
  the forget examples: 1 when no attack tells the populations apart, 0 when all do.
- the final score is F x (retain accuracy / the retrained models') x (test accuracy / the
  retrained models'), means over each population.

The organisers' code evaluates thresholds on a grid of 100 points a unit; here every distinct
decision is enumerated from the samples' own values (the limit of that grid as it gets
finer), with sorted counts instead of a dense grid: the same epsilon wherever no two samples
lie within the grid's step, found in milliseconds on a CPU.

KLOM (Georgiev et al. 2024, arXiv 2410.23232; EasyDUB, RoyRin/data-unlearning-bench,
src/eval.py): per example the *margin* logit(y) - logsumexp of the other logits of each
model, clipped to [-100, 100]; both populations binned into 20 equal bins over their common
range; KL(unlearned || retrained) with the retrained bin probabilities floored at 1e-5 where
the unlearned have mass. Reported as the 95th percentile over the examples of a split (the
percentile EasyDUB and Georgiev et al. report). With few models KLOM is biased upwards even
between two retrained populations: the retrained-vs-retrained row is the floor to read it by.
"""

from __future__ import annotations

import math

import numpy as np

DELTA = 1e-5  # the competition's delta
EPSILON_CAP = 50.0  # the competition's cap on an example's epsilon
PEAKY_RATIO = 0.01  # spreads differing by more than 100x: epsilon = the cap, outright
BUCKET = 0.5  # epsilon bucket width of the score
INTERVAL_SLACK = 2.0  # the two-threshold attack's interval width: the smaller spread +- this
KLOM_BINS = 20
KLOM_FLOOR = 1e-5
KLOM_CLIP = 100.0
KLOM_PERCENTILE = 95.0


def logit_scaled_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """log p(y) - log sum_{c != y} p(c) per row of ``logits`` [..., classes] (float64)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=-1, keepdims=True)
    labels = np.broadcast_to(np.asarray(labels), logits.shape[:-1])
    correct = np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
    wrong = probs.sum(axis=-1) - correct
    return np.log(correct + 1e-45) - np.log(np.clip(wrong, 0, None) + 1e-45)


def margins(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """logit(y) - logsumexp of the other logits, per row of ``logits`` [..., classes]."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.broadcast_to(np.asarray(labels), logits.shape[:-1])
    correct = np.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    others = logits.copy()
    np.put_along_axis(others, labels[..., None], -np.inf, axis=-1)
    top = others.max(axis=-1, keepdims=True)
    return correct - (top[..., 0] + np.log(np.exp(others - top).sum(axis=-1)))


# ----------------------------------------------------------------------------- epsilon
def example_epsilons(unlearned: np.ndarray, retrained: np.ndarray,
                     delta: float = DELTA) -> np.ndarray:
    """Each example's epsilon from confidences [models, examples] of both populations."""
    unlearned, retrained = np.asarray(unlearned, float), np.asarray(retrained, float)
    if unlearned.shape[1] != retrained.shape[1]:
        raise ValueError("both populations must hold the same examples")
    return np.array([_epsilon(unlearned[:, i], retrained[:, i], delta)
                     for i in range(unlearned.shape[1])])


def _epsilon(a: np.ndarray, b: np.ndarray, delta: float) -> float:
    spread_a, spread_b = np.ptp(a), np.ptp(b)
    largest, smallest = max(spread_a, spread_b), min(spread_a, spread_b)
    if largest == 0:  # both constant: identical (nothing to tell) or apart (perfectly told)
        return 0.0 if a[0] == b[0] else EPSILON_CAP
    if smallest / largest < PEAKY_RATIO:
        return EPSILON_CAP
    # Single threshold: positive = the population with the larger median.
    pos, neg = (b, a) if np.median(b) > np.median(a) else (a, b)
    fpr_fnr = [_single_threshold_rates(pos, neg)]
    # Two thresholds: positive = the peakier population, an interval around it (on a tie,
    # the one with the smaller median, as the organisers' swap does).
    peaky, wide = (neg, pos) if np.ptp(pos) >= np.ptp(neg) else (pos, neg)
    fpr_fnr.append(_interval_rates(peaky, wide, smallest))
    fpr = np.concatenate([r[0] for r in fpr_fnr])
    fnr = np.concatenate([r[1] for r in fpr_fnr])
    return float(min(_best_epsilon(fpr, fnr, delta), EPSILON_CAP))


def _candidates(values: np.ndarray) -> np.ndarray:
    """Thresholds giving every distinct decision on ``values``: the values, the midpoints
    between neighbours, and one beyond each end."""
    points = np.unique(values)
    middle = (points[1:] + points[:-1]) / 2
    return np.unique(np.concatenate([points, middle, [points[0] - 1.0, points[-1] + 1.0]]))


def _single_threshold_rates(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of "positive when the value is >= t" for every distinct threshold t."""
    thresholds = _candidates(np.concatenate([pos, neg]))
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    fnr = np.searchsorted(pos_sorted, thresholds, side="left") / len(pos)  # pos < t
    fpr = 1.0 - np.searchsorted(neg_sorted, thresholds, side="left") / len(neg)  # neg >= t
    return fpr, fnr


def _interval_rates(peaky: np.ndarray, wide: np.ndarray,
                    width: float) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of "positive (= peaky) when inside [l, r]", for every distinct decision an
    interval allowed by the organisers' scan can make: r in [min(peaky) + width - 2,
    max(peaky) + 2], l in [r - width - 2, r - width + 2].

    With the pooled values v_0 < ... < v_{M-1}, an interval's decision depends only on the
    gap its left end falls in, (v_{k-1}, v_k], and the gap its right end falls in,
    [v_m, v_{m+1}); a pair of gaps is allowed when some l, r in them meet the constraints,
    i.e. when the range of r - l over the two gaps meets [width - 2, width + 2].
    """
    values = np.unique(np.concatenate([peaky, wide]))
    edges = np.concatenate([[-np.inf], values, [np.inf]])  # edges[k] = v_{k-1}
    r_min, r_max = peaky.min() + width - INTERVAL_SLACK, peaky.max() + INTERVAL_SLACK
    k = np.arange(len(values) + 1)  # left gap k: (v_{k-1}, v_k]
    m = np.arange(-1, len(values))  # right gap m: [v_m, v_{m+1})
    l_low, l_high = edges[k], edges[k + 1]
    r_low = np.maximum(edges[m + 1], r_min)
    r_high = np.minimum(edges[m + 2], r_max)
    usable_r = r_low <= r_high
    low = np.maximum(r_low[None, :] - l_high[:, None], width - INTERVAL_SLACK)
    high = np.minimum(r_high[None, :] - l_low[:, None], width + INTERVAL_SLACK)
    allowed = (low <= high) & usable_r[None, :] & (high >= 0)
    left_gap, right_gap = np.nonzero(allowed)
    if len(left_gap) == 0:
        return np.empty(0), np.empty(0)
    # Inside [l, r]: the values v_k .. v_m (none when k > m).
    first, last = k[left_gap], m[right_gap]
    inside_peaky = _count_between(np.sort(peaky), values, first, last)
    inside_wide = _count_between(np.sort(wide), values, first, last)
    return inside_wide / len(wide), 1.0 - inside_peaky / len(peaky)


def _count_between(sorted_values: np.ndarray, grid: np.ndarray, first: np.ndarray,
                   last: np.ndarray) -> np.ndarray:
    """How many of ``sorted_values`` lie in [grid[first], grid[last]] (0 where first > last)."""
    empty = first > last
    lo = grid[np.clip(first, 0, len(grid) - 1)]
    hi = grid[np.clip(last, 0, len(grid) - 1)]
    counts = _count_inside(sorted_values, lo, hi)
    return np.where(empty, 0.0, counts)


def _count_inside(sorted_values: np.ndarray, lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
    return (np.searchsorted(sorted_values, rights, side="right")
            - np.searchsorted(sorted_values, lefts, side="left")).astype(float)


def _best_epsilon(fpr: np.ndarray, fnr: np.ndarray, delta: float) -> float:
    """The largest epsilon over attacks (the rules of the module docstring)."""
    if np.any((fpr == 0) & (fnr == 0)):
        return math.inf
    keep = (fpr > 0) & (fnr > 0)  # one rate at zero: too few samples to tell, discarded
    if not keep.any():
        return 0.0
    fpr, fnr = fpr[keep], fnr[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.log(1 - delta - fpr) - np.log(fnr)
        second = np.log(1 - delta - fnr) - np.log(fpr)
    eps = np.fmax(first, second)
    eps = eps[~np.isnan(eps)]
    return float(np.clip(eps.max(), 0, None)) if len(eps) else 0.0


# ----------------------------------------------------------------------------- scores
def epsilon_points(epsilons: np.ndarray, n_models: int) -> np.ndarray:
    """Each example's score: 2^-k for the k-th half-unit bucket of its epsilon, up to
    ceil(log(N - 1)); 0 beyond (the competition's buckets)."""
    if n_models < 2:
        raise ValueError("a population needs at least 2 models")
    buckets = int(math.ceil(math.log(n_models - 1)) / BUCKET)  # N = 2: none, every score 0
    index = np.floor(np.asarray(epsilons, float) / BUCKET)
    return np.where(index < buckets, 0.5 ** np.clip(index, 0, None), 0.0)


def forgetting_quality(unlearned_conf: np.ndarray, retrained_conf: np.ndarray) -> float:
    """F of the competition: the mean example score (1 best, 0 worst)."""
    eps = example_epsilons(unlearned_conf, retrained_conf)
    return float(epsilon_points(eps, unlearned_conf.shape[0]).mean())


def final_score(quality: float, retain_acc: float, retain_acc_gold: float, test_acc: float,
                test_acc_gold: float) -> float:
    """F x (retain accuracy ratio) x (test accuracy ratio) to the retrained population."""
    return quality * (retain_acc / retain_acc_gold) * (test_acc / test_acc_gold)


def klom(unlearned_margins: np.ndarray, retrained_margins: np.ndarray) -> np.ndarray:
    """Per-example KL(unlearned || retrained) of binned margins [models, examples]."""
    p_all = np.clip(np.asarray(unlearned_margins, float), -KLOM_CLIP, KLOM_CLIP)
    q_all = np.clip(np.asarray(retrained_margins, float), -KLOM_CLIP, KLOM_CLIP)
    out = np.empty(p_all.shape[1])
    for i in range(p_all.shape[1]):
        p, q = p_all[:, i], q_all[:, i]
        low, high = min(p.min(), q.min()), max(p.max(), q.max())
        edges = np.linspace(low, high if high > low else low + 1, KLOM_BINS + 1)
        p_prob = np.histogram(p, edges)[0] / len(p)
        q_prob = np.histogram(q, edges)[0] / len(q)
        q_safe = np.where(p_prob > 0, np.maximum(q_prob, KLOM_FLOOR), q_prob)
        q_safe = q_safe / q_safe.sum()
        mass = p_prob > 0
        out[i] = float(np.sum(p_prob[mass] * np.log(p_prob[mass] / q_safe[mass])))
    return out


def klom_percentile(values: np.ndarray, percentile: float = KLOM_PERCENTILE) -> float:
    return float(np.percentile(values, percentile)) if len(values) else math.nan
