"""The many-model forgetting tests in a report: a ranking by forgetting quality F and the
per-example epsilons behind it.

Written only when the results hold F (``run --set metrics.population=N``). The table ranks
the methods of each setting by mean F over training seeds, with the retrain-vs-retrain row
as the floor to read them against (docs/METRICS.md: at small N two retrained pools score far
below 1), and states N and what the populations cost.

The unit of every mean, interval and test here is the training seed: a training seed's rows
that differ in their unlearning seed are averaged first (reports.stats.training_seed_means;
Lanyon et al. 2025, arXiv 2510.26714). F is paired with the retrain row's F of the same
training seed: both are scored against that seed's one retrained pool.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from benchmark.core.roles import GOLD_METHOD, Role
from reports.frame import CELL_KEYS, SETTING_KEYS, SkipPart, has_metric, label_palette, usable
from reports.stats import (
    MIN_PAIRS,
    MISSING,
    TEST_NAME,
    nested_ci,
    paired_vs_gold,
    training_seed_means,
)
from reports.tables import Table

HEADER = ["Model", "Data set", "Forget", "Rank", "Method", "Seeds", "N", "F", "p F vs retrain",
          "F × utility", "KLOM forget p95 (nats)", "Forget acc (%)", "MIA entropy (%)",
          "Population time (s)"]
MEANS = ("forgetting_quality", "forgetting_score", "klom_forget", "forget_acc_test",
         "time_population_s")


def population_table(frame: pd.DataFrame) -> Table | None:
    """Methods ranked by mean F per setting; None when no row has F."""
    rows = usable(frame)
    if not has_metric(rows, "forgetting_quality"):
        return None
    lines, records = [], []
    ordered = rows.sort_values(["model", "dataset", "n_forget", "forget"])
    for (model, dataset, forget), setting in ordered.groupby(SETTING_KEYS, sort=False):
        setting = setting.dropna(subset=["forgetting_quality"])
        means = {method: training_seed_means(part, "forgetting_quality").mean()
                 for method, part in setting.groupby("method")}
        # Best F first; on a tie the original goes last: it is the scale's worst end.
        ranking = sorted(means, key=lambda m: (-means[m], m == Role.ORIGINAL.value))
        rank = 0
        for method in ranking:
            part = setting[setting["method"] == method]
            reference = method in (GOLD_METHOD, Role.ORIGINAL.value)
            rank += 0 if reference else 1
            label = part["method_label"].iloc[0] + (" (retrain vs retrain: the floor)"
                                                    if method == GOLD_METHOD else "")
            test = None if reference else paired_vs_gold(setting, method,
                                                         "forgetting_quality", CELL_KEYS)
            lines.append([model, dataset, forget, "-" if reference else str(rank), label,
                          _seeds(part), f"{part['population'].max():.0f}",
                          nested_ci(part, "forgetting_quality", 1.0, ".3f"),
                          MISSING if test is None else test.text,
                          _mean(part, "forgetting_score", 1.0, ".3f"),
                          _mean(part, "klom_forget", 1.0, ".3g"),
                          _mean(part, "forget_acc_test", 100.0, ".1f"),
                          _mean(part, "mia_entropy_member_rate", 100.0, ".1f"),
                          _mean(part, "time_population_s", 1.0, ".3g")])
            records.append({"model": model, "dataset": dataset, "forget": forget,
                            "method": method, "rank": None if reference else rank,
                            "seeds": part["seed"].nunique(), "runs": len(part),
                            "n": part["population"].max(),
                            "forgetting_quality_p_vs_retrain": None if test is None else test.p,
                            **{f"{c}_mean": training_seed_means(part, c).mean()
                               for c in MEANS if c in part}})
    caption = ("Methods ranked by the many-model forgetting quality F (NeurIPS 2023 unlearning "
               "competition; docs/METRICS.md), mean ± 95 % interval over training seeds, each "
               "seed's F computed from N unlearned models against N retrained ones (a training "
               "seed's unlearning seeds averaged first: the training seed is the unit, Lanyon "
               "et al. 2025). Read F against the retrain row (two retrained pools against each "
               "other: the best this N allows), not against 1; the original is the worst end. "
               f"p F vs retrain: {TEST_NAME} of the method's F against the retrain row's over "
               f"training seeds ('n too small' below {MIN_PAIRS}). F × utility is the "
               "competition's final score. Population time: the training and unlearning runs "
               "the populations took for that row (cached models are loaded, not retrained).")
    return Table("population", caption, HEADER, lines, pd.DataFrame(records),
                 title="Many-model forgetting quality")


def _mean(rows: pd.DataFrame, column: str, scale: float, fmt: str) -> str:
    return nested_ci(rows, column, scale, fmt) if column in rows and rows[column].notna().any() \
        else MISSING


def _seeds(rows: pd.DataFrame) -> str:
    """Training seeds, and the runs behind them when a seed has several unlearning seeds."""
    seeds = rows["seed"].nunique()
    return str(seeds) if len(rows) == seeds else f"{seeds} ({len(rows)} runs)"


def epsilon_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """ECDF of the per-example epsilons of each method (all seeds pooled), one panel a setting."""
    rows = usable(frame)
    if "forget_epsilons" not in rows or not rows["forget_epsilons"].notna().any():
        raise SkipPart("the results have no per-example epsilons (run with "
                       "--set metrics.population=N)")
    settings = list(rows.dropna(subset=["forget_epsilons"]).groupby("setting"))
    labels, palette = label_palette(rows)
    figure = Figure(figsize=(8.5, 3.6 * len(settings)), layout="constrained")
    for index, (title, setting) in enumerate(settings):
        axis = figure.add_subplot(len(settings), 1, index + 1)
        for method_label in labels:
            part = setting[setting["method_label"] == method_label]
            values = [e for item in part["forget_epsilons"].dropna() for e in item]
            if not values:
                continue
            # Beyond the last scored bucket every epsilon scores 0: drawn at the axis' end.
            limit = math.ceil(math.log(max(int(part["population"].max()) - 1, 2))) + 0.5
            values = np.sort(np.minimum(np.asarray(values, float), limit))
            dashed = part["method"].iloc[0] == GOLD_METHOD
            axis.step(values, np.arange(1, len(values) + 1) / len(values), where="post",
                      color=palette[method_label], linestyle="--" if dashed else "-",
                      label=method_label + (" (floor: retrain vs retrain)" if dashed else ""))
        axis.set_title(title, fontsize=9)
        axis.set_xlim(0, limit * 1.05)  # the lines at the limit stay visible
        axis.set_xlabel(f"per-example epsilon (0: the populations cannot be told apart; "
                        f"{limit:g}: beyond the scored range, told apart)")
        axis.set_ylabel("share of forget examples")
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    notes.append("Further left is better: a method's curve on the retrain curve forgets as "
                 "retraining does, example by example.")
    return figure
