"""The plan of a run: what the user asked, resolved once into typed, validated parts.

Every way into a run goes through :func:`resolve` (flags of ``run``/``tune``, the Python
API's keyword arguments, a claim set's ``[run]`` table) or, for code that builds a
:class:`~benchmark.harness.spec.RunSpec` itself (tests, tuning), :func:`plan_of`. Both
check every name, seed and setting here, once, before any data is loaded, and build:

- each method's instance with its validated config (the gold ``retrain`` included);
- each (model, data set)'s training recipe under the precedence rule of harness/spec.py;
- the Engine (device, precision, layout), the metric, data and engine options;
- absolute cache paths, so stored artifact paths mean the same from any folder.

Nothing after this module re-reads a preset, re-applies ``--set`` or re-validates a config.
The forget sets that need the data (``random:K``, ``each``, ``subclass:``, ``samples:``) are
parsed against it when it is loaded (``grid.expand``); ``rows.group_cells`` then lists a
group's cells from the instances held here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.config import apply_overrides
from benchmark.core.engine import Engine
from benchmark.core.roles import REFERENCE_ROLES
from benchmark.core.training import TrainRecipe
from benchmark.harness.options import DataOptions, EngineOptions, MetricOptions
from benchmark.harness.prechecks import check_plan, data_root_of
from benchmark.harness.settings import Settled, settle, settle_args
from benchmark.harness.spec import RunArgs, RunSpec
from methods import UnlearningMethod


class FrozenDict(dict):
    """A dict that refuses changes (a plan's tables), yet pickles for Ray and deep-copies."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a Plan is immutable; derive a new one (Plan.narrowed, with_method_settings)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


@dataclass(frozen=True)
class Plan:
    """A run, resolved: every part typed and validated (see the module docstring)."""

    methods: tuple[str, ...]  # requested, ``all`` expanded; may name the gold ``retrain``
    models: tuple[str, ...]
    datasets: tuple[str, ...]
    forget: tuple[str, ...]
    seeds: tuple[int, ...]
    instances: Mapping[str, UnlearningMethod]  # every method of the run and the gold's
    recipes: Mapping[tuple[str, str], TrainRecipe]  # (model, data set) -> recipe
    model_kwargs: Mapping[str, Mapping[str, Any]]
    engine: Engine
    engine_options: EngineOptions
    metrics: MetricOptions
    data: DataOptions
    results: str
    cache_root: Path  # absolute
    data_root: str | None = None
    tuned: Mapping[str, str] = field(default_factory=dict)  # method -> tuned file it came from
    preset: str | None = None
    made_for: str | None = None
    executor: str = "local"
    ray_address: str | None = None
    rerun: bool = False
    save_models: bool = False
    fail_fast: bool = False  # stop at the first failed cell or weak original (runner)
    notes: tuple[str, ...] = ()  # worth printing before the run (e.g. a tuned file's preset)

    @property
    def unlearning_methods(self) -> list[str]:
        """The requested methods that are not reference roles (those run regardless)."""
        return [m for m in self.methods if m not in REFERENCE_ROLES]

    def recipe(self, model: str, dataset: str) -> TrainRecipe:
        return self.recipes[(model, dataset)]

    def method(self, name: str) -> UnlearningMethod:
        return self.instances[name]

    @property
    def data_root_resolved(self) -> str | None:
        """``--data-root``, else ``$UNLEARN_DATA_ROOT``: the data this run reads."""
        return data_root_of(self.data_root)

    @property
    def checkpoint_dir(self) -> Path:
        return self.cache_root / "checkpoints"

    @property
    def data_cache_dir(self) -> Path:
        return self.cache_root / "data"

    def narrowed(self, **changes: Any) -> Plan:
        """This plan with fewer models/data sets/seeds/methods (a Ray group, a tuning study),
        or other run-level values (``rerun``, ``results``, ``metrics``); nothing re-validated
        but what changed."""
        return dataclasses.replace(self, **{k: tuple(v) if isinstance(v, list) else v
                                            for k, v in changes.items()})

    def with_method_settings(self, method: str, values: Mapping[str, Any]) -> Plan:
        """``method`` with ``values`` over its current config (one tuning trial), checked."""
        config = apply_overrides(self.instances[method].config, dict(values), method)
        instances = dict(self.instances) | {method: type(self.instances[method])(config)}
        return dataclasses.replace(self, instances=FrozenDict(instances))


def resolve(args: RunArgs, on_note: Callable[[str], None] | None = None) -> Plan:
    """The plan of ``args``: the preset, then flags (``--tuned`` files, then ``--set``) on top,
    each setting checked once (``settings.settle_args``), then the checks of :func:`plan_of`."""
    spec, notes, settled = settle_args(args)
    for note in notes:
        if on_note:
            on_note(note)
    return _plan(spec, settled, tuple(notes))


def plan_of(spec: RunSpec, notes: tuple[str, ...] = ()) -> Plan:
    """The plan of a RunSpec built in code (tests, notebooks): the same checks as resolve."""
    return _plan(spec, settle(spec), notes)


def _plan(spec: RunSpec, settled: Settled, notes: tuple[str, ...]) -> Plan:
    """What needs more than one setting checked (before any data is read), and the plan."""
    methods, instances, recipes = settled.methods, settled.instances, settled.recipes
    cache_root = spec.cache_root().absolute()
    check_plan(spec, settled, cache_root)
    engine = Engine.for_device(spec.device, spec.engine.precision, spec.engine.channels_last)
    return Plan(
        methods=tuple(methods), models=tuple(spec.models), datasets=tuple(spec.datasets),
        forget=tuple(spec.forget), seeds=tuple(spec.seeds),
        instances=FrozenDict(instances), recipes=FrozenDict(recipes),
        model_kwargs=FrozenDict({k: dict(v) for k, v in spec.model_kwargs.items()}),
        engine=engine, engine_options=spec.engine, metrics=spec.metrics, data=spec.data,
        results=spec.results, cache_root=cache_root, data_root=spec.data_root,
        tuned=FrozenDict(dict(spec.tuned)), preset=spec.preset, made_for=spec.made_for,
        executor=spec.executor, ray_address=spec.ray_address, rerun=spec.rerun,
        save_models=spec.save_models, fail_fast=spec.fail_fast, notes=notes)
