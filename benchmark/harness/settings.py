"""Presets and ``--set`` flags -> a RunSpec, through one dispatcher, every value checked once.

A preset is a TOML table whose keys mirror the CLI flags (``methods``, ``seeds``, ...) plus
setting sections: ``[train]`` (with ``[train.model.<name>]`` and ``[train.dataset.<name>]``),
``[metrics]``, ``[data]``, ``[engine]``, ``[methods_config.<method>]`` and
``[model_kwargs.<model>]``. ``--set section.key=value`` (parsed by :func:`parse_assignments`)
reaches the same sections through :func:`apply_section`, the one place a section name is
dispatched. Types and bounds are checked here, before any data is loaded or anything is
written. :func:`spec_from_args` puts the flags of a RunArgs over its preset; :func:`settle`
checks every name and builds each method's instance (its config checked once) and each
(model, data set)'s recipe, all in one place, which benchmark.harness.plan puts in the plan.

The training recipe of a (model, data set) follows one precedence rule, lowest first: the
recipe's defaults < the preset's ``[train]`` < its ``[train.model.<name>]`` < its
``[train.dataset.<name>]`` < ``--set train.key=value`` (flags beat everything a preset says).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.core.config import apply_overrides
from benchmark.core.errors import UserError
from benchmark.core.named_files import read_named_toml, shipped_names
from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.core.seeding import check_seed
from benchmark.core.training import TrainRecipe
from benchmark.harness.spec import ALL_METHODS, EXECUTORS, RunArgs, RunSpec
from benchmark.models import MODELS
from datasets import DATASETS
from datasets import import_builtins as import_datasets
from methods import METHODS, UnlearningMethod
from methods import import_builtins as import_methods

OPTION_SECTIONS = ("metrics", "data", "engine")  # RunSpec attributes holding a dataclass
LIST_KEYS = ("methods", "models", "datasets", "forget")
TEXT_KEYS = ("device", "data_root", "results", "cache_dir", "executor", "ray_address")


def preset_names() -> list[str]:
    return shipped_names("benchmark.harness", "presets")


def read_preset(name_or_path: str) -> dict[str, Any]:
    """The TOML table of a shipped preset name or a file path."""
    return read_named_toml(name_or_path, "benchmark.harness", "presets", "preset")


def apply_section(spec: RunSpec, section: str, values: dict[str, Any], from_flags: bool) -> None:
    """Apply ``values`` to setting ``section`` of ``spec`` (a preset's, or ``--set`` flags).

    ``train`` from flags is kept apart and applied last (see benchmark.harness.spec);
    any other name is a method's section, checked against the method once names are known.
    """
    if not isinstance(values, dict):
        raise UserError(f"[{section}] must be a table of settings, not {values!r}")
    if section == "train":
        if from_flags:
            apply_overrides(spec.train, values, "train")  # check types now
            spec.train_overrides.update(values)
            return
        base = {k: v for k, v in values.items() if not isinstance(v, dict)}
        spec.train = apply_overrides(spec.train, base, "train")
        for scope, target in (("model", spec.train_by_model), ("dataset", spec.train_by_dataset)):
            tables = values.get(scope, {})
            if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
                raise UserError(f"[train.{scope}] must hold one table per {scope} name")
            for name, table in tables.items():
                apply_overrides(spec.train, table, f"train.{scope}.{name}")  # check types now
                target[name] = dict(table)
    elif section in OPTION_SECTIONS:
        setattr(spec, section, apply_overrides(getattr(spec, section), values, section))
    else:
        spec.method_settings.setdefault(section, {}).update(values)


def spec_from_args(args: RunArgs) -> tuple[RunSpec, list[str]]:
    """The preset's RunSpec with the flags on top (``--tuned`` files, then ``--set``), and the
    notes worth printing (a tuned file made under another preset)."""
    table = dict(args.table) if args.table is not None else read_preset(args.preset)
    spec = spec_from_preset(table, args.preset)
    for name in LIST_KEYS + ("seeds",):
        value = getattr(args, name)
        if value is not None:
            setattr(spec, name, unique(list(value)))
    for name in TEXT_KEYS:
        value = getattr(args, name)
        if value is not None:
            setattr(spec, name, value)
    notes: list[str] = []
    if args.tuned:  # over the preset's method settings, under --set
        from benchmark.harness.tuned_files import apply_tuned

        notes = apply_tuned(spec, unique(list(args.tuned)))
    spec.rerun = args.rerun
    spec.fail_fast = args.fail_fast
    spec.save_models = spec.save_models or args.save_models
    for section, values in _assignments(args.settings).items():
        apply_section(spec, section, values, from_flags=True)
    if args.threads is not None:
        apply_section(spec, "engine", {"threads": args.threads}, from_flags=True)
    return spec, notes


def _assignments(settings: Sequence[str] | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``--set`` texts parsed, or a mapping ``{"unsir.impair_lr": 0.05}`` taken as typed."""
    if not isinstance(settings, Mapping):
        return parse_assignments(list(settings))
    return {section: {k.partition(".")[2]: v for k, v in settings.items()
                      if k.startswith(f"{section}.")}
            for section in {_section(key) for key in settings}}


def _section(key: str) -> str:
    section, dot, name = str(key).partition(".")
    if not dot or not section or not name:
        raise UserError(f"bad setting {key!r}; use method.key or train.key")
    return section


def parse_assignments(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["unsir.impair_lr=0.05", "train.epochs=3"]`` -> ``{"unsir": {"impair_lr": 0.05}, ...}``."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        section, dot, key = target.strip().partition(".")
        if not sep or not dot or not section or not key:
            raise UserError(f"bad --set {item!r}; use --set method.key=value or train.key=value")
        try:
            value = parse_value(raw.strip())
        except UserError as error:
            raise UserError(f"--set {target.strip()}: {error}") from None
        result.setdefault(section, {})[key] = value
    return result


def parse_value(raw: str) -> Any:
    """A Python/TOML-like literal (numbers, true/false, none, quoted or bare strings)."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    if isinstance(value, float) and value == 0.0 and any(c in "123456789" for c in
                                                          raw.lower().partition("e")[0]):
        raise UserError(f"{raw} is too small for a float: it underflows to 0; give a larger value")
    return value


def spec_from_preset(table: dict[str, Any], name: str | None = None) -> RunSpec:
    """Build a RunSpec from a preset table (keys mirror the CLI flags)."""
    spec = RunSpec(preset=name)
    label = f"preset {name!r}" if name else "preset"
    for key, value in table.items():
        if key in LIST_KEYS:
            setattr(spec, key, text_list(value, f"{label}: {key}", numbers=key == "forget"))
        elif key == "seeds":
            spec.seeds = seed_list(value, f"{label}: seeds")
        elif key in TEXT_KEYS:
            if not isinstance(value, str):
                raise UserError(f"{label}: {key} must be a string, not {value!r}")
            setattr(spec, key, value)
        elif key == "save_models":
            if not isinstance(value, bool):
                raise UserError(f"{label}: save_models must be true or false, not {value!r}")
            spec.save_models = value
        elif key == "model_kwargs":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise UserError(f"{label}: [model_kwargs] must hold one table per model")
            spec.model_kwargs = {model: dict(kwargs) for model, kwargs in value.items()}
        elif key == "methods_config":
            if not isinstance(value, dict):
                raise UserError(f"{label}: [methods_config] must hold one table per method")
            for method, settings in value.items():
                apply_section(spec, method, settings, from_flags=False)
        elif key == "train" or key in OPTION_SECTIONS:
            apply_section(spec, key, value, from_flags=False)
        elif key == "made_for":
            if value not in ("cpu", "gpu"):
                raise UserError(f"{label}: made_for must be \"cpu\" or \"gpu\", not {value!r}")
            spec.made_for = value
        elif key == "description":
            continue
        else:
            raise UserError(f"{label}: unknown key {key!r}")
    return spec


def text_list(value: Any, label: str, numbers: bool = False) -> list[str]:
    """A string or a list of strings (with ``numbers``, also ints: ``forget = [3]``), duplicates
    merged."""
    items = value if isinstance(value, list) else [value]
    allowed = (str, int) if numbers else (str,)
    if not items or any(isinstance(v, bool) or not isinstance(v, allowed) for v in items):
        raise UserError(f"{label} must be a name or a list of names, not {value!r}")
    return unique([str(v).strip() for v in items])


def seed_list(value: Any, label: str) -> list[int]:
    """A seed or a list of seeds, each a whole number in range; duplicates merged."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise UserError(f"{label} is empty; use seeds like [0, 1, 2]")
    try:
        return unique([check_seed(v) for v in items])
    except UserError as error:
        raise UserError(f"{label}: {error}") from None


def unique(items: list[Any]) -> list[Any]:
    """``items`` without repeats, first occurrence kept (``--methods unsir,unsir`` runs once)."""
    return list(dict.fromkeys(items))


# ----------------------------------------------------------------------------- settled
@dataclass(frozen=True)
class Settled:
    """What a RunSpec's settings come to: the methods, their instances, the recipes."""

    methods: list[str]  # ``all`` expanded
    instances: dict[str, UnlearningMethod]  # the run's methods and the gold's
    recipes: dict[tuple[str, str], TrainRecipe]  # (model, data set) -> recipe


def settle_args(args: RunArgs) -> tuple[RunSpec, list[str], Settled]:
    """:func:`spec_from_args`, then :func:`settle`: flags to checked settings in one step."""
    spec, notes = spec_from_args(args)
    return spec, notes, settle(spec)


def settle(spec: RunSpec) -> Settled:
    """Check every name and setting of ``spec`` once; each config and recipe built once, here.

    A method's config: its defaults, then the preset's, ``--tuned`` and ``--set`` values
    (merged in that order in ``spec.method_settings``); the settings of a method outside the
    run are checked too. A recipe follows the precedence rule of this module's docstring.
    """
    methods = _checked_names(spec)
    configs = {name: apply_overrides(METHODS.get(name).Config(), spec.method_settings.get(name, {}),
                                     name)
               for name in dict.fromkeys([*methods, GOLD_METHOD, *spec.method_settings])}
    instances = {name: METHODS.get(name)(configs[name])
                 for name in dict.fromkeys([*methods, GOLD_METHOD])}
    # Later tables win key by key: [train] < [train.model.M] < [train.dataset.D] < --set.
    recipes = {(model, dataset): apply_overrides(
        spec.train, spec.train_by_model.get(model, {}) | spec.train_by_dataset.get(dataset, {})
        | spec.train_overrides, "train")
        for model in spec.models for dataset in spec.datasets}
    return Settled(methods, instances, recipes)


def _checked_names(spec: RunSpec) -> list[str]:
    """The run's methods (``all`` expanded); unknown names fail, listing the known ones."""
    import_methods()
    import_datasets()
    if not spec.methods:
        raise UserError("no method given; use --methods unsir,fisher,retrain")
    methods = METHODS.names() if ALL_METHODS in spec.methods else list(spec.methods)
    for name in methods:
        if name == Role.ORIGINAL.value:
            raise UserError(f"{name!r} is not a method: its row is always stored as the reference")
        METHODS.get(name)
    for name in spec.models:
        if not name.startswith("timm:"):
            MODELS.get(name)
    for name in spec.datasets:
        DATASETS.get(name)
    if not spec.seeds:
        raise UserError("no seed given; use --seeds 0 or --seeds 0,1,2")
    seed_list(list(spec.seeds), "seeds")  # the flags' and the Python API's seeds too
    if spec.executor not in EXECUTORS:
        raise UserError(f"unknown executor {spec.executor!r}; use {' or '.join(EXECUTORS)}")
    for section in spec.method_settings:
        if section not in METHODS:
            raise UserError(f"--set {section}.…: {section!r} is not a method or setting section; "
                            f"known: train, metrics, data, engine, {', '.join(METHODS.names())}")
    return methods
