"""Every metric a results row can hold, declared once: name, label, unit, direction, aggregation.

The evaluator refuses to store a metric that is not declared here; the results frame types
its columns from here; report tables take their headers, scales and formats from here;
claims refuse an undeclared metric name when the claims file is read. Adding a metric
means: compute it (benchmark/metrics/), declare it below, and the rest follows.

``stored_in`` says where the row keeps the value: ``metrics`` (the metrics JSON) or
``timings`` (the timings JSON; its keys get a ``time_`` prefix in a results frame).
``per_layer`` values are a mapping of parameter name -> value; ``detail`` values are lists
(histograms, curves) that tables and claims never aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Aggregate = Literal["mean", "median", "none"]


@dataclass(frozen=True)
class Metric:
    """One metric: how to name, show and combine it."""

    name: str
    label: str  # short, for table headers and figure axes
    unit: str  # "%" (stored as a fraction, shown x100), "s", "×", "epochs", "bits", ... or ""
    higher_is_better: bool | None  # None: descriptive, neither direction is better
    aggregate: Aggregate = "mean"  # over seeds (the unit of replication)
    per_layer: bool = False
    detail: bool = False  # a list (histogram, curve): shown, never aggregated
    stored_in: Literal["metrics", "timings"] = "metrics"
    numeric: bool = True  # False for flags and notes: never coerced to a number
    fmt: str = ".3g"  # "sig" for significant digits picked by size

    @property
    def scale(self) -> float:
        return 100.0 if self.unit == "%" else 1.0

    @property
    def header(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def column(self) -> str:
        """Its column in a results frame."""
        return f"time_{self.name}" if self.stored_in == "timings" else self.name

    @property
    def scalar(self) -> bool:
        return not (self.per_layer or self.detail)


def _acc(name: str, label: str, better: bool | None) -> Metric:
    return Metric(name, label, "%", better, fmt=".1f")


_DECLARED = (
    # accuracy (benchmark.metrics.accuracy): forget lower is better, retain and test higher
    _acc("forget_acc_test", "Forget acc", False),
    _acc("retain_acc_test", "Retain acc", True),
    _acc("test_acc", "Test acc", True),
    _acc("forget_acc_train", "Forget acc (train)", False),
    _acc("retain_acc_train", "Retain acc (train)", True),
    _acc("overall_acc_train", "Train acc", None),
    # time (benchmark.harness.timing): the method's own wall time and its ratio to retraining
    Metric("time_s", "Time", "s", False, fmt="sig"),
    Metric("speedup_vs_retrain", "Speed-up", "×", True, fmt=".2f"),
    Metric("speedup_note", "Speed-up note", "", None, aggregate="none", numeric=False),
    # weight distance to the original (benchmark.metrics.weights)
    Metric("weight_distance_total", "Weight dist.", "L2", None, fmt="sig"),
    Metric("weight_distance_normalised", "Weight dist. / norm", "", None),
    Metric("layer_distance", "Layer distance", "L2", None, aggregate="none", per_layer=True),
    # prediction distribution on the forgotten samples (benchmark.metrics.predictions)
    Metric("pred_entropy", "Pred. entropy", "bits", None),
    Metric("pred_entropy_normalised", "Pred. entropy / max", "", None),
    Metric("pred_kl_from_uniform", "KL from uniform", "bits", None),
    Metric("pred_top_class_share", "Top class share", "%", None, fmt=".1f"),
    Metric("pred_histogram", "Prediction histogram", "", None, aggregate="none", detail=True),
    Metric("pred_retained_entropy", "Pred. entropy (retained)", "bits", None),
    Metric("pred_retained_entropy_normalised", "Pred. entropy / max (retained)", "", None),
    Metric("pred_retained_kl_from_uniform", "KL from uniform (retained)", "bits", None),
    Metric("pred_retained_top_class_share", "Top class share (retained)", "%", None, fmt=".1f"),
    Metric("pred_retained_histogram", "Prediction histogram (retained)", "", None,
           aggregate="none", detail=True),
    # distance to the gold model on the forgotten samples (benchmark.metrics.gold)
    Metric("activation_distance", "Activation dist.", "", False),
    Metric("js_divergence", "JS divergence", "bits", False),
    Metric("zrf", "ZRF", "", None),
    # membership inference on the forget training samples (benchmark.metrics.mia)
    Metric("mia_entropy_member_rate", "MIA entropy", "%", None, fmt=".1f"),
    Metric("mia_loss_member_rate", "MIA loss", "%", None, fmt=".1f"),
    Metric("mia_entropy_attack_acc", "MIA entropy attack acc", "%", None, fmt=".1f"),
    Metric("mia_loss_attack_acc", "MIA loss attack acc", "%", None, fmt=".1f"),
    Metric("mia_samples_per_group", "MIA samples a group", "", None, aggregate="none"),
    # many-model tests against a retrained population (benchmark.metrics.population)
    Metric("forgetting_quality", "F", "", True, fmt=".3f"),
    Metric("forgetting_score", "F × utility", "", True, fmt=".3f"),
    Metric("klom_forget", "KLOM forget p95", "nats", False, fmt=".3g"),
    Metric("klom_retain", "KLOM retain p95", "nats", False, fmt=".3g"),
    Metric("klom_test", "KLOM test p95", "nats", False, fmt=".3g"),
    Metric("population", "Models a population", "", None, aggregate="none"),
    Metric("population_mode", "A method's population", "", None, aggregate="none",
           numeric=False),
    # "stacked" (the pools' models trained together) or "sequential" (one after the other)
    Metric("population_training", "Pool training", "", None, aggregate="none", numeric=False),
    Metric("forget_epsilons", "Per-example epsilon", "", False, aggregate="none", detail=True),
    # relearn time (benchmark.metrics.relearn): censored at the cap, see reports.frame
    Metric("relearn_epochs", "Relearn", "epochs", True, aggregate="median"),
    Metric("relearn_steps", "Relearn", "steps", True, aggregate="median"),
    Metric("relearned", "Relearned", "", None, aggregate="none", numeric=False),
    Metric("relearn_cap_epochs", "Relearn cap", "epochs", None, aggregate="none"),
    Metric("relearn_threshold", "Relearn threshold", "%", None, fmt=".1f"),
    Metric("relearn_steps_per_epoch", "Steps an epoch", "", None, aggregate="none"),
    Metric("relearn_curve", "Relearn curve", "%", None, aggregate="none", detail=True),
    Metric("relearn_curve_steps", "Relearn curve steps", "", None, aggregate="none", detail=True),
    # where the time went (the row's timings)
    Metric("unlearn_s", "Unlearn time", "s", False, fmt="sig", stored_in="timings"),
    Metric("metrics_s", "Metrics time", "s", None, fmt="sig", stored_in="timings"),
    Metric("gold_s", "Retrain time", "s", None, fmt="sig", stored_in="timings"),
    Metric("population_s", "Population time", "s", None, fmt="sig", stored_in="timings"),
)

METRICS: dict[str, Metric] = {metric.name: metric for metric in _DECLARED}
BY_COLUMN: dict[str, Metric] = {metric.column: metric for metric in _DECLARED}


def metric(name: str) -> Metric:
    """The declared metric ``name`` (a frame column name works too); KeyError otherwise."""
    return METRICS.get(name) or BY_COLUMN[name]


def numeric_columns() -> list[str]:
    """Frame columns that hold one number per row (typed as float in a results frame)."""
    return [m.column for m in _DECLARED if m.scalar and m.numeric]


def undeclared(names: object) -> list[str]:
    """The names among ``names`` that no metric declares (the evaluator's check)."""
    return sorted(str(name) for name in names if name not in METRICS)
