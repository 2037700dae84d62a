"""The summary table: every headline metric per model, data set, forget set and method.

Each cell is the mean ± half-width of the 95 % Student-t interval over seeds
(:mod:`reports.stats`); forget and retain accuracy also get a paired t-test against retrain.
Failed cells are left out of every statistic and counted in the Seeds column.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmark.core.roles import GOLD_METHOD, REFERENCE_ROLES
from benchmark.metrics.registry import metric
from reports.frame import (
    CELL_KEYS,
    SETTING_KEYS,
    failed,
    has_metric,
    relearn_summary,
    sort_methods,
    usable,
)
from reports.stats import (
    MIN_PAIRS,
    MISSING,
    TEST_NAME,
    mean_ci,
    paired_vs_gold,
    t_interval,
    training_seed_means,
)
from reports.tables import Table
from reports.timing import POOLED_CAPTION, pooled_mark

# (column, header, scale, format), from the metric registry: accuracies and rates in percent.
SUMMARY_METRICS = tuple(
    (m.column, m.header, m.scale, m.fmt) for m in map(metric, (
        "forget_acc_test", "retain_acc_test", "test_acc", "time_s", "speedup_vs_retrain",
        "mia_entropy_member_rate", "mia_loss_member_rate", "weight_distance_total",
        "forgetting_quality", "klom_forget")))
TIMED = ("time_s", "speedup_vs_retrain")  # marked when their seeds were timed on several setups
# (column, header) of the metrics tested against retrain.
TESTED = (("forget_acc_test", "p forget vs retrain"), ("retain_acc_test", "p retain vs retrain"))


def relearn_text(summary: pd.Series) -> str:
    """Relearn epochs with censoring spelled out: never-relearned runs are not averaged."""
    runs, relearned, cap = int(summary["runs"]), int(summary["relearned"]), summary["cap"]
    if relearned == 0:
        return f"never (>{cap:g})"
    text = (f"{summary['mean']:.1f}" if math.isnan(summary["ci"])
            else f"{summary['mean']:.1f} ± {summary['ci']:.1f}")
    return text if relearned == runs else f"{text} ({runs - relearned}/{runs} never)"


def summary_table(frame: pd.DataFrame) -> Table:
    """Mean ± 95 % interval over seeds per (model, data set, forget set, method).

    ``frame`` holds every row; statistics use the usable ones, and a method whose cells
    failed says so in its Seeds column (e.g. "2 (1 failed)").
    """
    ok = usable(frame)
    failures = failed(frame).groupby([*SETTING_KEYS, "method"]).size()
    metrics = [m for m in SUMMARY_METRICS if has_metric(ok, m[0])]
    tested = [t for t in TESTED if has_metric(ok, t[0])] if (ok["method"] == GOLD_METHOD).any() \
        else []
    relearn = has_metric(ok, "relearn_cap_epochs") and "relearn_epochs" in ok
    header = ["Model", "Data set", "Forget", "Method", "Seeds"] + [m[1] for m in metrics]
    header += [t[1] for t in tested] + (["Relearn (epochs)"] if relearn else [])
    rows, numeric, pooled = [], [], False
    ordered = sort_methods(frame.sort_values(["model", "dataset", "n_forget", "forget"]))
    for (model, dataset, forget), cells in ordered.groupby(SETTING_KEYS, sort=False):
        setting = usable(cells)
        summary = relearn_summary(setting) if relearn and not setting.empty else None
        for method, every in cells.groupby("method", sort=False):
            group = usable(every)
            n_failed = int(failures.get((model, dataset, forget, method), 0))
            seeds = str(group["seed"].nunique()) + (f" ({n_failed} failed)" if n_failed else "")
            line = [model, dataset, forget, every["method_label"].iloc[0], seeds]
            record = {"model": model, "dataset": dataset, "forget": forget, "method": method,
                      "zero_glance": bool(every["zero_glance"].all()),
                      "seeds": group["seed"].nunique(), "failed_cells": n_failed}
            for column, _, scale, fmt in metrics:
                mark = pooled_mark(group.dropna(subset=[column])) if column in TIMED else ""
                pooled |= bool(mark)
                values = training_seed_means(group, column)  # the unit: training seeds
                line.append(mean_ci(values, scale, fmt) + mark)
                low, high = t_interval(values)
                record.update({f"{column}_mean": values.mean(),
                               f"{column}_sd": values.std(),
                               f"{column}_ci_low": low, f"{column}_ci_high": high})
            for column, _ in tested:
                if method in REFERENCE_ROLES:  # retrain is the yardstick; original is not unlearned
                    line.append(MISSING)
                    continue
                test = paired_vs_gold(setting, method, column, CELL_KEYS)
                line.append(test.text)
                record.update({f"{column}_p_vs_retrain": test.p,
                               f"{column}_pairs_vs_retrain": test.pairs})
            if summary is not None and method in summary.index:
                item = summary.loc[method]
                line.append(relearn_text(item))
                record.update({"relearn_epochs_mean": item["mean"], "relearn_epochs_sd": item["sd"],
                               "relearn_epochs_ci": item["ci"],
                               "relearn_never": int(item["runs"] - item["relearned"]),
                               "relearn_cap_epochs": item["cap"]})
            elif relearn:
                line.append(MISSING)  # every seed of this method failed
            rows.append(line)
            numeric.append(record)
    return Table("summary", _caption(int(failures.sum()), bool(tested), pooled), header, rows,
                 pd.DataFrame(numeric))


def _caption(n_failed: int, tested: bool, pooled: bool) -> str:
    caption = ("Mean ± half-width of the 95 % Student-t confidence interval over seeds (no "
               "interval for one seed). Accuracies on the test split; MIA: share of "
               "forget-train samples flagged as members; relearn: epochs until the forget "
               "accuracy returns (never-relearned runs are counted, not averaged). "
               "† zero-glance method.")
    if tested:
        caption += (f" p: {TEST_NAME} of the method against retrain over seeds, paired by cell "
                    "(same model, data set, forget set and seed), not corrected for multiple "
                    f"comparisons; 'n too small' below {MIN_PAIRS} pairs, 'identical' when "
                    "every pair is equal.")
    if pooled:
        caption += " " + POOLED_CAPTION
    if n_failed:
        caption += (f" {n_failed} failed cell(s) are left out of the statistics and listed "
                    "under Failed cells.")
    return caption
