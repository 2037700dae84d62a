"""The harness's own setting sections besides the training recipe: metrics, data, engine.

Each is a frozen dataclass with bounded fields (benchmark.core.config), so ``--set
metrics.relearn_lr=-1`` or a preset's ``[data] train_per_class = -5`` is one line before any
work. All three are part of every cell's id: changing one measures again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchmark.core.config import added_later, check_bounds, setting


@dataclass(frozen=True)
class MetricOptions:
    """How the harness measures; part of each row id, so a change re-measures."""

    relearn: bool = True
    relearn_per_class: int = setting(100, ge=1)
    relearn_max_epochs: int = setting(10, ge=1)
    relearn_lr: float = setting(0.001, gt=0)
    relearn_margin: float = setting(0.05, ge=0, le=1)  # threshold = original forget acc - margin
    mia: bool = True
    # Retain and overall accuracy on the whole training split (retain_acc_train,
    # overall_acc_train): a forward pass of every row's model and of the original over the
    # training set. ``tune`` turns it off, as its objective reads only the validation split
    # and the forget set's own training samples: on the ResNet-9 of cifar10-cpu those two
    # passes cost more than a trial of UNSIR itself. The membership attack needs the whole
    # split, so with ``mia`` on it is computed regardless.
    train_split: bool = added_later(True)
    # Many-model forgetting tests (benchmark.harness.population): N models a population,
    # 0 = off; the retain and test examples they look at (a seeded sample of each split).
    population: int = setting(0, ge=0, le=4096, added_later=True)
    population_examples: int = setting(1000, ge=10, added_later=True)
    # A method's population: run from each of N originals (training seeds, the default), or
    # from the cell's original with N unlearning seeds.
    population_mode: Literal["originals", "unlearning_seeds"] = added_later("originals")
    # How the pools' originals and retrained models train (benchmark.harness.pool_training):
    # "auto" stacks small models that can be stacked, "stacked" every model that can be,
    # "sequential" trains one after the other.
    population_training: Literal["auto", "stacked", "sequential"] = added_later("auto")


@dataclass(frozen=True)
class DataOptions:
    """Optional per-class caps on the splits (0 = all): quick real-data checks on a CPU."""

    train_per_class: int = setting(0, ge=0)
    test_per_class: int = setting(0, ge=0)

    def __post_init__(self) -> None:
        check_bounds(self, "data")  # 0 means all samples; a negative cap means nothing


@dataclass(frozen=True)
class EngineOptions:
    """How models run: ``auto`` is bf16 + channels_last on CUDA, fp32 + contiguous on the CPU.

    ``threads`` is the number of intra-op CPU threads (0 = chosen from the work's size).
    """

    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool | None = None
    threads: int = setting(0, ge=0, le=1024)
