"""Speed regressions of each method's ``unlearn``, with pytest-benchmark.

A small fixed configuration on the CPU: synthetic data (10 classes, 3 x 8 x 8, 60 training
images per class), the small CNN, class 3 forgotten, an original trained once per module.
Each round starts from a fresh copy of the original and a fresh request (``setup``, not
timed), so only ``unlearn`` is measured, as in the harness. The configurations are fixed
here, not taken from the methods' defaults, so a change of defaults does not look like a
speed regression; they follow benchmark/harness/presets/default.toml where it sets something.

In the default suite (``--benchmark-disable`` in pyproject's addopts) each test runs
``unlearn`` once and checks its result, so these also guard correctness. To time them::

    pytest tests/bench -n 0 --benchmark-enable --benchmark-autosave          # save a baseline
    pytest tests/bench -n 0 --benchmark-enable --benchmark-compare --benchmark-compare-fail=median:25%

See docs/BENCHMARKS.md for the measured numbers and how to read them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from datasets.base import ImageDataset
from methods.api import UnlearningMethod
from methods.finetune import Finetune, FinetuneConfig
from methods.fisher import FisherConfig, FisherForgetting
from methods.retrain import Retrain, RetrainConfig
from methods.unsir import Unsir, UnsirConfig
from tests.helpers import accuracy_on, request_for, tiny_data, trained_model

FORGET = (3,)
ROUNDS = 5

# name -> the method with its fixed benchmark configuration
METHOD_CASES: dict[str, Callable[[], UnlearningMethod]] = {
    "unsir": lambda: Unsir(UnsirConfig(batch_size=64, noise_batch=64)),  # as the default preset
    "fisher": lambda: FisherForgetting(FisherConfig()),  # the whole retain set (540 images)
    "finetune": lambda: Finetune(FinetuneConfig()),
    "retrain": lambda: Retrain(RetrainConfig()),  # the original's recipe (4 epochs here)
}


@pytest.fixture(scope="module")
def data() -> ImageDataset:
    return tiny_data()


@pytest.fixture(scope="module")
def original(data: ImageDataset) -> nn.Module:
    return trained_model(data)


@pytest.fixture(scope="module")
def original_accuracy(data: ImageDataset, original: nn.Module) -> tuple[float, float]:
    retain = tuple(c for c in range(data.num_classes) if c not in FORGET)
    return accuracy_on(original, data, FORGET), accuracy_on(original, data, retain)


def _timed_unlearn(benchmark: Any, name: str, data: ImageDataset, original: nn.Module) -> nn.Module:
    """Time ``unlearn`` alone over ROUNDS rounds; returns the last round's model."""
    method = METHOD_CASES[name]()

    def setup() -> tuple[tuple[nn.Module, Any], dict[str, Any]]:
        torch.manual_seed(0)  # as the harness does before each unlearn
        return (copy.deepcopy(original), request_for(method, data, FORGET)), {}

    benchmark.group = "unlearn (smallcnn, synthetic 10x3x8x8, CPU)"
    benchmark.extra_info["method"] = name
    benchmark.extra_info["torch"] = torch.__version__
    benchmark.extra_info["threads"] = torch.get_num_threads()
    model = benchmark.pedantic(method.unlearn, setup=setup, rounds=ROUNDS, iterations=1)
    return model.eval()


def _same_architecture(model: nn.Module, original: nn.Module) -> None:
    assert isinstance(model, nn.Module)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in original.named_parameters()]


def _weights_moved(model: nn.Module, original: nn.Module) -> float:
    """Total L2 distance between the two models' parameters."""
    originals = dict(original.named_parameters())
    return float(sum((p.detach() - originals[n].detach()).pow(2).sum()
                     for n, p in model.named_parameters()) ** 0.5)


def test_original_is_a_fair_starting_point(original_accuracy) -> None:
    forget, retain = original_accuracy
    assert forget >= 0.9 and retain >= 0.9  # otherwise "forgetting" would prove nothing


def test_bench_unsir(benchmark, data, original, original_accuracy) -> None:
    model = _timed_unlearn(benchmark, "unsir", data, original)
    _same_architecture(model, original)
    assert accuracy_on(model, data, FORGET) <= 0.2 < original_accuracy[0]


def test_bench_fisher(benchmark, data, original, original_accuracy) -> None:
    model = _timed_unlearn(benchmark, "fisher", data, original)
    _same_architecture(model, original)
    assert accuracy_on(model, data, FORGET) <= 0.2 < original_accuracy[0]


def test_bench_finetune(benchmark, data, original, original_accuracy) -> None:
    model = _timed_unlearn(benchmark, "finetune", data, original)
    _same_architecture(model, original)
    # Fine-tuning need not forget in 5 epochs (its known weakness); it must train and keep
    # the retained classes.
    retain = tuple(c for c in range(data.num_classes) if c not in FORGET)
    assert _weights_moved(model, original) > 0
    assert accuracy_on(model, data, retain) >= original_accuracy[1] - 0.1


def test_bench_retrain(benchmark, data, original, original_accuracy) -> None:
    model = _timed_unlearn(benchmark, "retrain", data, original)
    _same_architecture(model, original)
    retain = tuple(c for c in range(data.num_classes) if c not in FORGET)
    assert accuracy_on(model, data, FORGET) <= 0.05  # never saw class 3
    assert accuracy_on(model, data, retain) >= 0.8
