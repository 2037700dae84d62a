"""GPU speed targets of the speed issue, on CIFAR-shaped data (marker ``gpu``; skipped without CUDA).

No download is needed: the images are random uint8 tensors of CIFAR-10's shape on the GPU
(throughput does not depend on pixel values). Targets, one H100: ResNet-18 (CIFAR stem)
training >= 50,000 images/s; UNSIR end to end (noise + impair + repair, one class) <= 0.5 s;
exact Fisher forgetting over a 45,000-image retain set <= 60 s. Following DESIGN.md these
are not timed asserts: pytest-benchmark records them, ``extra_info`` holds images/s, and a
saved baseline plus ``--benchmark-compare-fail`` turns a slowdown into a failure::

    pytest tests/bench/test_bench_gpu.py -o addopts= --benchmark-enable --benchmark-autosave
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from benchmark.core.engine import Engine
from benchmark.core.tensors import Augment, LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, make_optimizer, train_epoch
from benchmark.harness.requests import build_request
from benchmark.models import create_model
from datasets.base import ImageDataset
from methods.fisher import FisherForgetting
from methods.unsir import Unsir

pytestmark = pytest.mark.gpu
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.for_device("cuda")


@pytest.fixture(scope="module")
def cifar_shaped(engine: Engine) -> ImageDataset:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60_000, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.arange(60_000) % 10
    return ImageDataset("cifar10-shaped", images[:50_000], labels[:50_000], images[50_000:],
                        labels[50_000:], tuple(map(str, range(10))), CIFAR_MEAN, CIFAR_STD
                        ).to(engine.device)


def _model(engine: Engine) -> torch.nn.Module:
    torch.manual_seed(0)
    return engine.prepare(create_model("resnet18", 10, 3, 32))


def test_resnet18_training_throughput(benchmark, engine, cifar_shaped) -> None:
    model = _model(engine)
    data = LabelledImages(cifar_shaped.train_x, cifar_shaped.train_y)
    normalizer = Normalizer(CIFAR_MEAN, CIFAR_STD, engine.device)
    optimizer = make_optimizer(model.parameters(), "sgd", 0.1, 5e-4, 0.9, True)
    generator = torch.Generator().manual_seed(0)

    def one_epoch() -> float:
        return train_epoch(model, [data], optimizer, engine, normalizer, 512, generator, Augment())

    one_epoch()  # warm-up: cudnn.benchmark picks its kernels
    loss = benchmark.pedantic(one_epoch, rounds=3, iterations=1)
    benchmark.extra_info["images_per_s"] = len(data) / benchmark.stats.stats.median
    benchmark.extra_info["device"] = engine.device_name()
    assert math.isfinite(loss) and loss > 0  # a real, finite cross-entropy


@pytest.mark.parametrize("method_cls, rounds", [(Unsir, 5), (FisherForgetting, 1)])
def test_unlearn_time_resnet18(benchmark, engine, cifar_shaped, method_cls, rounds) -> None:
    original = _model(engine).eval()
    method = method_cls()
    recipe = TrainRecipe()

    def setup():
        request = build_request(method, cifar_shaped, (3,), 0, engine, recipe,
                                lambda: _model(engine))
        return (copy.deepcopy(original), request), {}

    if rounds > 1:  # warm-up for the sub-second method; Fisher's minute dwarfs its start-up
        method.unlearn(*setup()[0])
    model = benchmark.pedantic(method.unlearn, setup=setup, rounds=rounds, iterations=1)
    benchmark.extra_info["device"] = engine.device_name()
    assert isinstance(model, torch.nn.Module)
