"""Uncertainty over seeds: 95 % Student-t intervals and paired tests against retrain.

Every table cell and figure error bar that summarises seeds uses :func:`t_interval`: the
mean ± t(0.975, n − 1) · s / √n. With the handful of seeds a benchmark runs (2-5) a
bootstrap interval would be too narrow, and the t interval is exact for normal errors.
Methods are compared with retrain by :func:`paired_vs_gold`, a two-sided paired t-test
(``scipy.stats.ttest_rel``) over the seeds of one setting, paired by cell: both rows of a
pair share model, data set, forget set and seed, so seed-to-seed variation of the data
split cancels. p-values are not corrected for the many comparisons of a report.

The unit is the training seed (``seed``: which original a row starts from). Rows of one
training seed that differ only in their unlearning seed are not independent replicates:
they share the original, and Lanyon et al. 2025 (arXiv 2510.26714) show that evaluating
over unlearning seeds of one original misleads (SSD's ranking, especially). So intervals and
paired tests average a training seed's unlearning seeds first (:func:`training_seed_means`)
and count training seeds; with one row a training seed, as every run stores today, this
changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.core.roles import GOLD_METHOD

CONFIDENCE = 0.95
MIN_PAIRS = 3  # below this a paired test has almost no power; we show "n too small"
TEST_NAME = "paired t-test (scipy.stats.ttest_rel, two-sided)"
MISSING = "–"


TRAINING_SEED = "seed"  # the unit of replication; unlearning seeds nest inside it


def training_seed_means(rows: pd.DataFrame, column: str,
                        keys: Sequence[str] = (TRAINING_SEED,)) -> pd.Series:
    """``column`` averaged over the rows sharing ``keys`` (a training seed: its unlearning
    seeds), one value a training seed, indexed by ``keys``; rows without a value are left
    out, training seeds without any too. What intervals and paired tests take as values."""
    keys = list(keys)
    if rows.empty or column not in rows:
        return pd.Series(dtype=float)
    values = rows[keys].assign(_value=pd.to_numeric(rows[column], errors="coerce"))
    return values.groupby(keys)["_value"].mean().dropna()


def nested_ci(rows: pd.DataFrame, column: str, scale: float = 1.0, fmt: str = ".1f") -> str:
    """:func:`mean_ci` over training seeds, each the mean of its unlearning seeds."""
    return mean_ci(training_seed_means(rows, column), scale, fmt)


def half_width(values: pd.Series) -> float:
    """Half-width of the 95 % t interval of the mean; NaN for fewer than two values."""
    values = pd.Series(values, dtype=float).dropna()
    if len(values) < 2:
        return math.nan
    quantile = stats.t.ppf(0.5 + CONFIDENCE / 2, df=len(values) - 1)
    return float(quantile * values.std(ddof=1) / math.sqrt(len(values)))


def t_interval(values: pd.Series) -> tuple[float, float]:
    """(low, high) of the 95 % t interval of the mean; also seaborn's ``errorbar`` callable."""
    values = pd.Series(values, dtype=float).dropna()
    mean, half = float(values.mean()), half_width(values)
    return mean - half, mean + half


def percent_interval(values: pd.Series) -> tuple[float, float]:
    """The t interval clipped to 0..100: an accuracy or rate in % cannot leave that range
    (with few seeds the t interval of a mean near 100 % otherwise would)."""
    low, high = t_interval(values)
    return max(low, 0.0), min(high, 100.0)


def mean_ci(values: pd.Series, scale: float = 1.0, fmt: str = ".1f") -> str:
    """"m ± h" (h: half-width of the 95 % interval); just "m" for one value; "–" for none.

    ``fmt="sig"`` gives three significant digits of the mean and the same decimals to the
    interval (times and distances span orders of magnitude; "1.8 ± 0.869" would mislead).
    """
    values = pd.Series(values, dtype=float).dropna() * scale
    if values.empty:
        return MISSING
    if fmt == "sig":
        mean = abs(float(values.mean()))
        digits = 2 - math.floor(math.log10(mean)) if mean > 0 else 0
        fmt = f".{min(max(digits, 0), 4)}f"
    half = half_width(values)
    if math.isnan(half):
        return format(values.mean(), fmt)
    return f"{values.mean():{fmt}} ± {half:{fmt}}"


@dataclass(frozen=True)
class PairedTest:
    """A method against retrain on one metric: pairs used, p-value (NaN if none) and text."""

    pairs: int
    p: float
    text: str


def paired_vs_gold(rows: pd.DataFrame, method: str, column: str,
                   cell_keys: Sequence[str]) -> PairedTest:
    """Paired t-test of ``method`` against retrain on ``column``, over the cells of ``rows``.

    A pair is the method's and retrain's values of one cell (equal ``cell_keys``, the
    training seed among them), each the mean over that cell's unlearning seeds.
    """
    keys = list(cell_keys)
    mine = training_seed_means(rows[rows["method"] == method], column, keys)
    gold = training_seed_means(rows[rows["method"] == GOLD_METHOD], column, keys)
    pairs = pd.concat([mine.rename("mine"), gold.rename("gold")], axis=1, join="inner").dropna()
    a, b = pairs["mine"].to_numpy(float), pairs["gold"].to_numpy(float)
    if len(pairs) < MIN_PAIRS:
        return PairedTest(len(pairs), math.nan, "n too small")
    differences = a - b
    # Equal or constant differences have no spread: the t statistic is undefined (scipy
    # returns NaN or a float-noise p), so say what the data show instead of a p-value.
    if np.allclose(differences, 0.0, atol=1e-12):
        return PairedTest(len(pairs), math.nan, "identical")
    if np.ptp(differences) <= 1e-12 * max(1.0, float(np.abs(differences).max())):
        return PairedTest(len(pairs), math.nan, "constant diff.")
    p = float(stats.ttest_rel(a, b).pvalue)
    return PairedTest(len(pairs), p, p_text(p))


def p_text(p: float) -> str:
    """A p-value for a table: three decimals, "<0.001" below that."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
