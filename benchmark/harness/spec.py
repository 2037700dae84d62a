"""What the user asked for: RunArgs (flags as given) and RunSpec (a preset with flags applied).
benchmark.harness.plan resolves both into a Plan; a group's cells are in benchmark.harness.rows.

A RunSpec is built by benchmark.harness.settings from a TOML preset with CLI flags on top;
its training recipes are resolved there too (``settings.settle``, the precedence rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.cache_root import cache_root
from benchmark.core.training import TrainRecipe
from benchmark.harness.options import DataOptions, EngineOptions, MetricOptions

DEFAULT_RESULTS = "results/results.sqlite"
EXECUTORS = ("local", "ray")  # where groups run (benchmark.harness.executors)
ALL_METHODS = "all"  # --methods all: every registered method


@dataclass(frozen=True)
class RunArgs:
    """What the user asked for, as given: a preset and flag values (None: the preset's).

    ``settings`` are ``--set`` assignments (``"unsir.impair_lr=0.05"``); ``table`` replaces
    reading ``preset`` (a claim set's ``[run]`` merged over its preset).
    """

    preset: str = "default"
    methods: Sequence[str] | None = None
    models: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    forget: Sequence[str] | None = None
    seeds: Sequence[int] | None = None
    device: str | None = None
    data_root: str | None = None
    results: str | None = None
    cache_dir: str | None = None
    executor: str | None = None
    ray_address: str | None = None
    settings: Sequence[str] | Mapping[str, Any] = ()
    tuned: Sequence[str] = ()
    threads: int | None = None
    rerun: bool = False
    save_models: bool = False
    fail_fast: bool = False  # stop at the first failed cell or weak original
    table: Mapping[str, Any] | None = None


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
    # ``--set train.key=value``: applied last, over every table of the preset.
    train_overrides: dict[str, Any] = field(default_factory=dict)
    model_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Method -> the tuned file its settings came from (``run --tuned``); rows record it.
    tuned: dict[str, str] = field(default_factory=dict)
    metrics: MetricOptions = field(default_factory=MetricOptions)
    data: DataOptions = field(default_factory=DataOptions)
    engine: EngineOptions = field(default_factory=EngineOptions)
    rerun: bool = False
    fail_fast: bool = False  # stop at the first failed cell or weak original
    # Keep each unlearned model's weights (for GradCAM in reports); originals are always cached.
    save_models: bool = False
    preset: str | None = None
    # "gpu" for presets whose budget assumes one: running them on a CPU warns with an estimate.
    made_for: str | None = None
    # Where groups run: "local" (this process) or "ray" (a Ray cluster; benchmark.harness.executors).
    executor: str = "local"
    ray_address: str | None = None  # None: start a local Ray instance; "auto": the running cluster

    def cache_root(self) -> Path:
        """``--cache-dir``, else ``$UNLEARN_CACHE_DIR``, else ``~/.cache/unlearning-bench``."""
        return cache_root(self.cache_dir)

    def checkpoint_dir(self) -> Path:
        return self.cache_root() / "checkpoints"

    def data_cache_dir(self) -> Path:
        return self.cache_root() / "data"
