"""RunSpec (what the user asked for) and CellSpec (one unit of work with a stable id).

A run is given by CLI flags on top of a TOML preset. Presets ship in benchmark/harness/presets/;
``--preset NAME`` finds one there, ``--preset path/to/file.toml`` reads any file.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.config import apply_overrides
from benchmark.core.errors import UserError
from benchmark.core.hashing import stable_hash, to_jsonable
from benchmark.core.named_files import read_named_toml, shipped_names
from benchmark.core.training import TrainRecipe

DEFAULT_RESULTS = "results/results.sqlite"


@dataclass(frozen=True)
class MetricOptions:
    """How the harness measures; part of each row id, so a change re-measures."""

    relearn: bool = True
    relearn_per_class: int = 100
    relearn_max_epochs: int = 10
    relearn_lr: float = 0.001
    relearn_margin: float = 0.05  # threshold = original forget accuracy - margin
    mia: bool = True


@dataclass(frozen=True)
class DataOptions:
    """Optional per-class caps on the splits (0 = all): quick real-data checks on a CPU."""

    train_per_class: int = 0
    test_per_class: int = 0

    def __post_init__(self) -> None:
        if self.train_per_class < 0 or self.test_per_class < 0:
            raise ValueError("per-class caps cannot be negative (0 means all samples)")


@dataclass
class RunSpec:
    """Everything a ``run`` needs; built from a preset, then CLI flags on top."""

    methods: list[str] = field(default_factory=lambda: ["unsir", "fisher", "retrain", "finetune"])
    models: list[str] = field(default_factory=lambda: ["smallcnn"])
    datasets: list[str] = field(default_factory=lambda: ["digits"])
    forget: list[str] = field(default_factory=lambda: ["3"])
    seeds: list[int] = field(default_factory=lambda: [0])
    device: str = "auto"
    data_root: str | None = None
    results: str = DEFAULT_RESULTS
    cache_dir: str | None = None
    train: TrainRecipe = field(default_factory=TrainRecipe)
    # Per-model and per-data-set recipe changes, applied in that order on top of ``train``.
    train_by_model: dict[str, dict[str, Any]] = field(default_factory=dict)
    train_by_dataset: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: MetricOptions = field(default_factory=MetricOptions)
    data: DataOptions = field(default_factory=DataOptions)
    rerun: bool = False
    # Keep each unlearned model's weights (for GradCAM in reports); originals are always cached.
    save_models: bool = False
    preset: str | None = None

    def recipe_for(self, model: str, dataset: str) -> TrainRecipe:
        recipe = self.train
        for table, key in ((self.train_by_model, model), (self.train_by_dataset, dataset)):
            if key in table:
                recipe = apply_overrides(recipe, table[key], f"train.{key}")
        return recipe

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir)
        if os.environ.get("UNLEARN_CACHE_DIR"):
            return Path(os.environ["UNLEARN_CACHE_DIR"])
        return Path(self.results).parent / "cache"


@dataclass(frozen=True)
class CellSpec:
    """One (model, data set, forget set, seed, method) unit: one row in the results."""

    model: str
    model_kwargs: dict[str, Any]
    dataset: str
    forget: tuple[int, ...]
    seed: int
    recipe: TrainRecipe
    method: str
    method_config: Any
    device_type: str
    metrics: MetricOptions
    data: DataOptions = DataOptions()

    @property
    def row_id(self) -> str:
        return stable_hash(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return to_jsonable(dataclasses.asdict(self) | {"method_config": self.method_config})


# ----------------------------------------------------------------------------- presets
def preset_names() -> list[str]:
    return shipped_names("benchmark.harness", "presets")


def read_preset(name_or_path: str) -> dict[str, Any]:
    """The TOML table of a shipped preset name or a file path."""
    return read_named_toml(name_or_path, "benchmark.harness", "presets", "preset")


def spec_from_preset(table: dict[str, Any], name: str | None = None) -> RunSpec:
    """Build a RunSpec from a preset table (keys mirror the CLI flags)."""
    spec = RunSpec(preset=name)
    simple = {"methods", "models", "datasets", "forget", "seeds", "device", "data_root",
              "results", "cache_dir", "save_models"}
    for key, value in table.items():
        if key in simple:
            setattr(spec, key, value)
        elif key == "train":
            base = {k: v for k, v in value.items() if not isinstance(v, dict)}
            spec.train = apply_overrides(spec.train, base, "train")
            spec.train_by_model = dict(value.get("model", {}))
            spec.train_by_dataset = dict(value.get("dataset", {}))
        elif key == "model_kwargs":
            spec.model_kwargs = dict(value)
        elif key == "metrics":
            spec.metrics = apply_overrides(spec.metrics, value, "metrics")
        elif key == "data":
            spec.data = apply_overrides(spec.data, value, "data")
        elif key == "methods_config":
            spec.method_settings = {m: dict(v) for m, v in value.items()}
        elif key == "description":
            continue
        else:
            raise UserError(f"preset {name!r}: unknown key {key!r}")
    for key in ("methods", "models", "datasets", "forget"):
        value = getattr(spec, key)
        if isinstance(value, str):
            setattr(spec, key, [value])
    spec.forget = [str(v) for v in spec.forget]
    return spec
