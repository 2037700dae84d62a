"""Results rows: what one cell stores, for a measured model or a failure.

A row's cell columns come from its CellSpec; its access set and zero-glance flag from the
method class (the original is trained on everything); its timings say where each time
was measured, so readers can tell which times may be compared.
"""

from __future__ import annotations

from typing import Any

from benchmark.core.hashing import to_jsonable
from benchmark.core.roles import Role
from benchmark.core.scenarios import Scenario
from benchmark.harness.plan import Plan
from benchmark.harness.schema import STATUS_FAILED, STATUS_OK
from benchmark.harness.spec import CellSpec
from benchmark.metrics.registry import undeclared
from datasets.base import ImageDataset
from methods import METHODS

# A model whose retain accuracy is below this many times chance (1 / classes) has collapsed:
# it no longer classifies, so its "forget accuracy 0" says nothing about forgetting.
COLLAPSE_FACTOR = 2.0
# An original below this many times chance on the test split is too weak to unlearn from:
# a 27 % CIFAR-10 original (100 images a class, 2 epochs) makes every comparison moot.
WEAK_ORIGINAL_FACTOR = 3.0


def access_of(item: CellSpec) -> tuple[list[str], bool]:
    """(declared data access, zero-glance) of the cell's method; the original sees everything."""
    if item.role is Role.ORIGINAL:
        return ["full_train"], False
    cls = METHODS.get(item.method)
    return sorted(a.value for a in cls.needs), cls.zero_glance()


def make_row(item: CellSpec, plan: Plan, data: ImageDataset, provenance: dict[str, Any], *,
             metrics: dict[str, Any] | None = None, timings: dict[str, Any] | None = None,
             warnings: list[str] | None = None, error: str | None = None,
             status: str | None = None) -> dict[str, Any]:
    """The stored row of ``item``: ``error`` given means a failure (or skipped) row, no metrics."""
    if unknown := undeclared(metrics or {}):  # a new metric must be declared to be stored
        raise ValueError(f"undeclared metrics {', '.join(unknown)}: declare them in "
                         "benchmark/metrics/registry.py")
    access, zero_glance = access_of(item)
    forget = item.forget
    # Classes forgotten; one for a sub-class; the number of samples for random samples.
    n_forget = {Scenario.CLASSES: len(forget.classes), Scenario.SUBCLASS: 1}.get(
        forget.scenario) or forget.size(data)
    return {
        "row_id": item.row_id,
        "method": item.method,
        "model": item.model,
        "dataset": item.dataset,
        "forget": forget.label,
        "n_forget": n_forget,
        "scenario": forget.scenario.value,
        "seed": item.seed,  # the training seed: which original
        # The seed the row's unlearning ran with (the request's): none for the original.
        "unlearning_seed": None if item.role is Role.ORIGINAL else item.seed,
        "device": item.device_type,
        "zero_glance": int(zero_glance),
        "access": access,
        "spec": item.as_dict() | {"preset": plan.preset, "data_root": plan.data_root,
                                  "tuned_from": plan.tuned.get(item.method),
                                  "forget_names": forget_names(forget, data)},
        "hparams": to_jsonable(item.method_config),
        "metrics": {} if error else (metrics or {}),
        "timings": timings or {},
        "provenance": provenance,
        "status": status or (STATUS_FAILED if error else STATUS_OK),
        "error": error,
        "warnings": warnings or [],
    }


def forget_names(forget, data: ImageDataset) -> list[str] | None:
    """The forgotten classes' names (reports title panels with them); None for samples."""
    if forget.scenario is Scenario.CLASSES and data.classes:
        return [str(data.classes[c]) for c in forget.classes if c < len(data.classes)]
    if forget.scenario is Scenario.SUBCLASS:
        return [str(forget.subclass)]
    return None


def collapse_warning(metrics: dict[str, Any], num_classes: int) -> str | None:
    """A warning when retain accuracy fell to near chance (see COLLAPSE_FACTOR)."""
    retain = metrics.get("retain_acc_test")
    limit = COLLAPSE_FACTOR / num_classes
    if retain is None or retain != retain or retain >= limit:
        return None
    return (f"collapsed: retain accuracy {100 * retain:.1f}% is below {COLLAPSE_FACTOR:g}x chance "
            f"({100 * limit:.1f}%); its forget accuracy means nothing")


def weak_original_warning(test_acc: float | None, num_classes: int) -> str | None:
    """A warning when the original is barely above chance: every comparison is then moot."""
    limit = WEAK_ORIGINAL_FACTOR / num_classes
    if test_acc is None or test_acc != test_acc or test_acc >= limit:
        return None
    return (f"weak original: test accuracy {100 * test_acc:.1f}% is below {WEAK_ORIGINAL_FACTOR:g}x "
            f"chance ({100 * limit:.1f}%); train longer or on more data")
