"""Thresholds fitted to predict the next seed, not to summarise the last ones.

A claim is a prediction about the next run. Fitted to the published seeds' own spread it
fails on a fresh one (issue 24: Fisher's median forget accuracy 0.094 on a new seed against
``<= 0.05``). So a threshold is fitted from the claim's value on each seed (the claim's
aggregate over that seed's cells) with a one-sided 95 % Student-t *prediction interval* for
one new seed:

    mean ± t(0.95, n - 1) · sd · sqrt(1 + 1/n)

on the values themselves for accuracies and their differences (at least ``MIN_MARGIN``, a
couple of test images' worth), and on their logarithm for times, speed-ups and ratios
(a factor of at least ``MIN_FACTOR``: run-to-run timing noise on a shared machine), then
rounded outwards to two decimals (fractions) or two significant digits (ratios). It needs
two seeds or more; with two, t(0.95, 1) = 6.3 makes the margin wide, as it should be.

``tests/test_claims_fit.py`` refits each published claims file on all but one seed and
checks that the left-out seed passes, and that no committed threshold is stricter than the
fit on every seed. ``python -m benchmark check --fit`` prints the fit next to each claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd
from scipy import stats

from benchmark.claims.evaluate import NO_DATA, Claim, evaluate_claim

LEVEL = 0.95  # one-sided: the new seed passes with this probability under the model
MIN_MARGIN = 0.02  # fractions (accuracies and their differences): 2 points
MIN_FACTOR = 1.25  # times, speed-ups, ratios: 25 %
LOG_METRICS = ("speedup_vs_retrain", "time_s", "unlearn_s", "relearn_epochs")
LOWER = (">=", ">")  # a lower bound on the value; "<=" and "<" give an upper bound


@dataclass(frozen=True)
class Fit:
    """A claim's value per seed and the threshold fitted from them (None: cannot fit)."""

    claim: Claim
    values: dict[int, float]
    threshold: float | None
    why: str = ""

    @property
    def stricter_than_fit(self) -> bool:
        """The claim's own threshold is tighter than the fit would allow."""
        if self.threshold is None:
            return False
        if self.claim.op in LOWER:
            return self.claim.value > self.threshold
        return self.claim.value < self.threshold


def per_seed(claim: Claim, frame: pd.DataFrame) -> dict[int, float]:
    """The claim's measured value (its aggregate) on each seed's rows alone."""
    values = {}
    for seed in sorted(frame["seed"].dropna().unique()):
        result = evaluate_claim(claim, frame[frame["seed"] == seed])
        if result.verdict != NO_DATA and result.measured is not None:
            values[int(seed)] = float(result.measured)
    return values


def on_log_scale(claim: Claim) -> bool:
    if claim.relative_to is not None and claim.relative_to.form != "difference":
        return True
    return claim.metric in LOG_METRICS and claim.relative_to is None


def fitted_threshold(claim: Claim, values: list[float]) -> float | None:
    """The one-sided prediction bound of the next seed's value (see the module docstring)."""
    if len(values) < 2 or claim.op not in (*LOWER, "<=", "<"):
        return None
    log = on_log_scale(claim)
    if log and min(values) <= 0:
        return None
    points = [math.log(v) for v in values] if log else list(values)
    n = len(points)
    mean = sum(points) / n
    sd = math.sqrt(sum((p - mean) ** 2 for p in points) / (n - 1))
    margin = stats.t.ppf(LEVEL, n - 1) * sd * math.sqrt(1 + 1 / n)
    margin = max(margin, math.log(MIN_FACTOR) if log else MIN_MARGIN)
    bound = mean - margin if claim.op in LOWER else mean + margin
    return _round_out(math.exp(bound) if log else bound, claim.op in LOWER, log)


def _round_out(value: float, lower: bool, log: bool) -> float:
    """Round away from the measured values: down for a lower bound, up for an upper one."""
    if log:
        digits = 1 - math.floor(math.log10(abs(value))) if value else 2
    else:
        digits = 2
    scale = 10 ** digits
    rounded = (math.floor if lower else math.ceil)(value * scale - (1e-9 if not lower else -1e-9))
    return rounded / scale


def fit_claim(claim: Claim, frame: pd.DataFrame, seeds: list[int] | None = None) -> Fit:
    """Fit ``claim`` on ``seeds`` (default: every seed in ``frame``)."""
    values = per_seed(claim, frame if seeds is None else frame[frame["seed"].isin(seeds)])
    threshold = fitted_threshold(claim, list(values.values()))
    why = "" if threshold is not None else (
        f"{len(values)} seed(s) with data: a fit needs 2 or more" if len(values) < 2
        else "values of a log-scale quantity at or below 0")
    return Fit(claim, values, threshold, why)


def with_threshold(claim: Claim, threshold: float) -> Claim:
    return replace(claim, value=threshold)
