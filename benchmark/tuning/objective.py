"""The tuning objective: how close a method comes to the gold retrained model on validation data.

ToW ("tug of war", Zhao et al., "What makes unlearning hard and what to do about it",
NeurIPS 2024; ``tow`` in their code, github.com/kairanzhao/RUM
``surgical_plugins/analysis.py``) is the product over the forget, retain and test sets of
``1 - |accuracy of the unlearned model - accuracy of the retrained model|``. Tuning must not
see the test split, so here the validation split stands in for it, divided as the metrics
divide the test split: its samples of the forget classes and those of the retained classes.

    objective = (1 - |forget_acc - gold forget_acc|) * (1 - |retain_acc - gold retain_acc|)

with accuracies in [0, 1] on the validation split (``forget_acc_test`` and ``retain_acc_test``
of a run on the validation view). Both terms weigh the same, as in ToW; the product falls to
0 when either accuracy is as far from the gold model's as it can be. ToW's third factor,
accuracy on the whole test set, is left out: on the validation split it is a mix of the two
factors above and would count them twice. A forget set with no validation samples (random
samples) uses the forget set's own training samples for the forget term, as ToW does.
A failed cell scores 0, the worst value. Over several forget sets or seeds the objective is
the mean. Trials with the same objective (frequent: accuracies are counts) are ranked by
unlearning time, fastest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from benchmark.core.errors import UserError
from benchmark.core.roles import GOLD_METHOD
from benchmark.harness.schema import STATUS_OK, STATUS_SKIPPED
from benchmark.metrics.tow import tow  # the objective of one cell (benchmark/metrics/tow.py)

NAME = "tow_validation"
DEFINITION = ("(1 - |forget_acc - gold forget_acc|) * (1 - |retain_acc - gold retain_acc|) on the "
              "validation split, accuracies in [0, 1]: ToW (Zhao et al., NeurIPS 2024) with the "
              "validation split's forget-class and retained-class samples in place of ToW's sets; "
              "mean over cells; a failed cell scores 0")
TIE_BREAK = "equal objectives: the trial with the smaller unlearning time (time_s summed over cells)"


@dataclass
class TrialResult:
    """One trial: its parameters, objective and what it was computed from (means over cells)."""

    number: int
    params: dict[str, Any]
    objective: float
    status: str  # "ok", or "failed" when any cell failed
    time_s: float | None
    forget_acc: float | None
    retain_acc: float | None
    gold: dict[str, float] = field(default_factory=dict)  # the gold model's accuracies
    error: str | None = None
    # What the trial's cells cost when they were measured (unlearning and metrics): the same
    # whether this tune measured them or replayed them from stored rows after a resume.
    cost_s: float | None = None

    def record(self) -> dict[str, Any]:
        """The ``[[trial]]`` table of a tuned file (None values left out: TOML has no null)."""
        values = {"number": self.number, "status": self.status, "objective": self.objective,
                  "time_s": self.time_s, "cost_s": self.cost_s, "forget_acc": self.forget_acc,
                  "retain_acc": self.retain_acc, "error": self.error, "params": self.params}
        return {k: v for k, v in values.items() if v is not None}


def _cell(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["model"], row["dataset"], row["forget"], row["seed"]


def _accuracies(metrics: dict[str, Any]) -> tuple[float, float]:
    forget = metrics.get("forget_acc_test")
    if forget is None:  # no validation sample is forgotten (random samples): ToW's forget set
        forget = metrics["forget_acc_train"]
    return float(forget), float(metrics["retain_acc_test"])


def score_trial(number: int, params: dict[str, Any], rows: list[dict[str, Any]],
                method: str) -> TrialResult:
    """The trial's result from the rows of its ``run_grid`` (the method's and the gold's)."""
    gold = {_cell(r): r for r in rows if r["method"] == GOLD_METHOD}
    mine = [r for r in rows if r["method"] == method]
    if not mine:
        raise UserError(f"tuning {method}: the run stored no row for it")
    scores, times, forgets, retains, golds, errors = [], [], [], [], [], []
    for row in mine:
        reference = gold[_cell(row)]
        if reference["status"] != STATUS_OK:
            raise UserError(f"the gold retrain failed ({reference['error']}); nothing to tune against")
        if row["status"] == STATUS_SKIPPED:
            raise UserError(f"{method} cannot be tuned here: {row['error']}")
        golds.append(_accuracies(reference["metrics"]))
        if row["status"] != STATUS_OK:
            scores.append(0.0)
            errors.append(row["error"] or "failed")
            continue
        forget, retain = _accuracies(row["metrics"])
        scores.append(tow(forget, retain, *golds[-1]))
        forgets.append(forget)
        retains.append(retain)
        times.append(float(row["metrics"]["time_s"]))
    return TrialResult(
        number=number, params=params, objective=_mean(scores),
        status="failed" if errors else "ok", time_s=None if errors else sum(times),
        forget_acc=_mean(forgets) if forgets else None,
        retain_acc=_mean(retains) if retains else None,
        gold={"forget_acc": _mean([g[0] for g in golds]), "retain_acc": _mean([g[1] for g in golds])},
        error="; ".join(errors) or None,
        cost_s=sum(float((row.get("timings") or {}).get(part) or 0.0)
                   for row in mine for part in ("unlearn_s", "metrics_s")),
    )


def best_trial(trials: list[TrialResult]) -> TrialResult:
    """The highest objective; among equal ones the fastest, then the earliest."""
    if not trials:
        raise UserError("no trial finished; nothing to choose from")
    return min(trials, key=lambda t: (-round(t.objective, 12),
                                      math.inf if t.time_s is None else t.time_s, t.number))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
