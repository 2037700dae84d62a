"""A group's cells (one unit of work each, with a stable id) and the row each one stores.

:func:`group_cells` lists, per forget set, the original, the gold retrain and every method
of a group; a cell's ``row_id`` hashes its settings, so a stored row is found again on a
rerun. :func:`make_row` builds what a cell stores, for a measured model or a failure: its
cell columns come from the CellSpec; its access set and zero-glance flag from the method
class (the original is trained on everything); its timings say where each time was
measured, so readers can tell which times may be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmark.core.config import id_values
from benchmark.core.hashing import stable_hash, to_jsonable
from benchmark.core.roles import GOLD_METHOD, Role, role_of
from benchmark.core.scenarios import Scenario
from benchmark.core.training import TrainRecipe
from benchmark.harness.grid import Group
from benchmark.harness.options import DataOptions, MetricOptions
from benchmark.harness.plan import Plan
from benchmark.harness.schema import STATUS_FAILED, STATUS_OK
from benchmark.metrics.registry import undeclared
from datasets.base import ImageDataset
from datasets.forget_sets import ForgetSet
from methods import METHODS


@dataclass(frozen=True)
class CellSpec:
    """One (model, data set, forget set, seed, method) unit: one row in the results."""

    model: str
    model_kwargs: dict[str, Any]
    dataset: str
    forget: ForgetSet
    seed: int
    recipe: TrainRecipe
    method: str
    method_config: Any
    device_type: str
    metrics: MetricOptions
    data: DataOptions = DataOptions()
    precision: str = "fp32"
    channels_last: bool = False

    @property
    def role(self) -> Role:
        return role_of(self.method)

    @property
    def row_id(self) -> str:
        return stable_hash(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The cell as JSON-able values: its id hashes them. Settings added after results
        were stored are left out at their default (core/config.py, ``added_later``)."""
        return to_jsonable(id_values(self) | {"method_config": id_values(self.method_config)})


def group_cells(plan: Plan, group: Group) -> list[CellSpec]:
    """Every cell of ``group``: per forget set, both references, then the methods."""
    engine = plan.engine
    roles = (Role.ORIGINAL.value, GOLD_METHOD, *group.methods)
    return [CellSpec(model=group.model, model_kwargs=dict(plan.model_kwargs.get(group.model, {})),
                     dataset=group.dataset, forget=forget, seed=group.seed,
                     recipe=plan.recipe(group.model, group.dataset), method=method,
                     method_config={} if method == Role.ORIGINAL.value
                     else plan.instances[method].config,
                     device_type=engine.device.type, metrics=plan.metrics, data=plan.data,
                     precision=engine.precision, channels_last=engine.channels_last)
            for forget in group.forget_sets for method in roles]


def undefined_reason(item: CellSpec) -> str | None:
    """Why a method's cell does no work: the method is not defined for its forget set's
    scenario (UNSIR and Fisher are whole-class only). Its row is stored as skipped with this
    reason, before any model is trained; None for every other cell."""
    if item.role is not Role.METHOD:
        return None
    scenarios = METHODS.get(item.method).scenarios
    if item.forget.scenario in scenarios:
        return None
    supported = ", ".join(sorted(s.value for s in scenarios))
    return f"{item.method} is defined for: {supported}; not for the {item.forget.scenario.value} scenario"


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
