"""Did a method forget at all? A fast method that did not must not look like the fastest.

Definition (per setting, i.e. model, data set and forget set; medians over seeds): a method
did not forget when its forget-class test accuracy is above

    max(FORGET_RATIO × the original's forget accuracy, retrain's forget accuracy + FORGET_MARGIN)

that is, it kept more than half of what the original model knew about the forget classes,
and more than 10 points above what a model that never saw them reaches. Where the original
or retrain row is missing, the other bound alone decides; with neither, nothing is judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from benchmark.core.roles import GOLD_METHOD, REFERENCE_ROLES, Role

FORGET_RATIO = 0.5
FORGET_MARGIN = 0.10
COLUMN = "forget_acc_test"
DEFINITION = (f"median forget-class test accuracy over seeds above "
              f"max({FORGET_RATIO:g} × the original's, retrain's + {FORGET_MARGIN * 100:.0f} "
              f"points) in the same setting")


@dataclass(frozen=True)
class NotForgotten:
    """A method that did not forget: its median forget accuracy and the bound it exceeded."""

    method: str
    median: float
    threshold: float


def forget_threshold(setting: pd.DataFrame) -> float:
    """The forget accuracy above which a method of this setting did not forget (NaN: none)."""
    bounds = []
    original = setting.loc[setting["method"] == Role.ORIGINAL.value, COLUMN].median()
    if not math.isnan(original):
        bounds.append(FORGET_RATIO * original)
    gold = setting.loc[setting["method"] == GOLD_METHOD, COLUMN].median()
    if not math.isnan(gold):
        bounds.append(gold + FORGET_MARGIN)
    return max(bounds) if bounds else math.nan


def not_forgotten(setting: pd.DataFrame) -> dict[str, NotForgotten]:
    """The methods of one setting's usable rows that did not forget, by name."""
    if COLUMN not in setting:
        return {}
    threshold = forget_threshold(setting)
    if math.isnan(threshold):
        return {}
    medians = setting[~setting["method"].isin(REFERENCE_ROLES)].groupby("method")[COLUMN].median()
    return {m: NotForgotten(m, float(v), threshold) for m, v in medians.items() if v > threshold}
