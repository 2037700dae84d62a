"""Default against tuned: each method at the preset's settings and at its tuned file's.

Rows run with ``run --tuned`` are a variant of their method (``reports.identity.variant``);
this table puts the two side by side per model, data set and forget set, with the gold
retrained model's accuracies to compare both against. It is written only when the results
hold a tuned row, as a section after the summary table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchmark.core.errors import UserError
from benchmark.core.roles import GOLD_METHOD
from reports.frame import SETTING_KEYS, usable
from reports.identity import TUNED_SUFFIX, base_method, method_display, method_order
from reports.stats import MISSING, mean_ci
from reports.tables import Table

HEADER = ["Model", "Data set", "Forget", "Method", "Forget acc default (%)",
          "Forget acc tuned (%)", "Retain acc default (%)", "Retain acc tuned (%)",
          "Retrain forget / retain (%)", "Tuned file"]


def _mean(rows: pd.DataFrame, column: str) -> str:
    return mean_ci(rows[column], 100.0, ".1f") if not rows.empty else MISSING


def tuned_table(frame: pd.DataFrame) -> Table | None:
    """One line per (setting, method) that has tuned rows; None when none has."""
    rows = usable(frame)
    if not rows["method"].str.endswith(TUNED_SUFFIX).any():
        return None
    lines, records = [], []
    ordered = rows.sort_values(["model", "dataset", "n_forget", "forget"])
    for (model, dataset, forget), setting in ordered.groupby(SETTING_KEYS, sort=False):
        gold = setting[setting["method"] == GOLD_METHOD]
        for key in method_order(setting["method"]):
            if not key.endswith(TUNED_SUFFIX):
                continue
            method = base_method(key)
            default, tuned = setting[setting["method"] == method], setting[setting["method"] == key]
            files = ", ".join(sorted(set(tuned["tuned_from"].dropna())))
            lines.append([model, dataset, forget, method_display(method),
                          _mean(default, "forget_acc_test"), _mean(tuned, "forget_acc_test"),
                          _mean(default, "retain_acc_test"), _mean(tuned, "retain_acc_test"),
                          f"{_mean(gold, 'forget_acc_test')} / {_mean(gold, 'retain_acc_test')}",
                          files])
            records.append({"model": model, "dataset": dataset, "forget": forget, "method": method,
                            **{f"{column}_{name}": part[column].mean()
                               for name, part in (("default", default), ("tuned", tuned),
                                                  ("retrain", gold))
                               for column in ("forget_acc_test", "retain_acc_test")},
                            "tuned_from": files})
    caption = ("Each method at the preset's settings (default) and at its tuned file's (`run "
               "--tuned`), test-split accuracies, mean ± 95 % interval over seeds. Tuning "
               "chose the settings on a validation split of the training data, never on this "
               "test split (docs/METRICS.md, Tuning objective).")
    return Table("default_vs_tuned", caption, HEADER, lines, pd.DataFrame(records),
                 title="Default against tuned")


def tuning_cost(label: str) -> str | None:
    """What tuning cost, from a tuned file's ``[search]`` and ``[provenance]``: "16 trials in
    57 min on AMD EPYC, torch 2.14.1" (the trials' measured work: ``trials_s``, or the wall
    time ``elapsed_s`` of files written before it was recorded); None when the file cannot be
    read here (a path of another machine, or a file moved since the run) or does not say."""
    from benchmark.harness.estimate import duration
    from benchmark.harness.tuned_files import read_tuned

    try:
        [(_, table, _)] = read_tuned([label])
    except (UserError, OSError, ValueError):
        return None
    search: Any = table.get("search") or {}
    where: Any = table.get("provenance") or {}
    # The trials' measured work where the file has it (a resumed tune's elapsed_s leaves
    # out the trials it replayed), else the study's wall time.
    seconds = search.get("trials_s", search.get("elapsed_s"))
    if not isinstance(seconds, int | float) or not search.get("trials"):
        return None
    setup = ", ".join(str(where[k]) if k == "device" else f"torch {where[k]}"
                      for k in ("device", "torch_version") if where.get(k))
    trials = int(search["trials"])
    return (f"{trials} trial{'s' * (trials != 1)} in {duration(float(seconds))}"
            + (f" on {setup}" if setup else ""))
