"""Shared fixtures: tiny, fast configurations on the synthetic data (CPU)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmark.core.cache_root import CACHE_ENV
from benchmark.core.training import TrainRecipe
from benchmark.harness.options import MetricOptions
from benchmark.harness.spec import RunSpec
from datasets.base import ImageDataset
from tests.helpers import tiny_data, trained_model

# Tiny test models run fastest on one thread; two OpenMP threads on a shared 2-core
# machine spin against each other and were measured 6x slower here.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")  # the harness's thread choice honours it

FAST_RECIPE = TrainRecipe(epochs=4, batch_size=64, lr=0.05, augment=False)
FAST_METRICS = MetricOptions(relearn=True, relearn_per_class=10, relearn_max_epochs=2)


@pytest.fixture(autouse=True, scope="session")
def _private_cache_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs without --cache-dir cache under UNLEARN_CACHE_DIR: keep tests out of ~/.cache.

    Under pytest-xdist (CI's ``pytest -n 2``) the workers of one test run share this root, as
    the tests of one plain session do: CIFAR's 60,000 JPEGs are then decoded once a run, not
    once a worker (the artifact store is safe for several processes at once).
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "cache-root"  # the run's, not the worker's
        root.mkdir(exist_ok=True)
    else:
        root = tmp_path_factory.mktemp("cache-root")
    os.environ[CACHE_ENV] = str(root)


@pytest.fixture(scope="session")
def small_results_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small results database as ``run`` leaves it (original and retrain rows, synthetic
    data, 2 epochs), made once a session for tests that read, copy or refuse a database.
    Tests copy it (``copy_db``) rather than touch it."""
    from benchmark.__main__ import main

    folder = tmp_path_factory.mktemp("small-db")
    results = folder / "r.sqlite"
    assert main(["run", "--methods", "retrain", "--datasets", "synthetic", "--set",
                 "train.epochs=2", "--set", "metrics.relearn=false", "--device", "cpu",
                 "--quiet", "--results", str(results), "--cache-dir", str(folder / "cache")]) == 0
    assert not list(folder.glob("r.sqlite-*"))  # no -wal/-shm beside: the file is the database
    return results


@pytest.fixture
def data() -> ImageDataset:
    """The toy set (10 classes of 60 training images, 8x8); a fresh draw costs milliseconds."""
    return tiny_data()


@pytest.fixture(scope="session")
def _trained_on_toy_set() -> nn.Module:
    return trained_model(tiny_data())


@pytest.fixture
def original(_trained_on_toy_set: nn.Module) -> nn.Module:
    """A small CNN trained on the toy set: trained once a session, a private copy a test."""
    return copy.deepcopy(_trained_on_toy_set)


@pytest.fixture
def tiny_spec(tmp_path: Path) -> RunSpec:
    """A complete run on synthetic data that takes a few seconds on 2 cores."""
    return RunSpec(
        methods=["unsir", "fisher", "retrain", "finetune"],
        models=["smallcnn"],
        datasets=["synthetic"],
        forget=["3"],
        seeds=[0],
        device="cpu",
        results=str(tmp_path / "results.sqlite"),
        cache_dir=str(tmp_path / "cache"),
        train=FAST_RECIPE,
        metrics=FAST_METRICS,
        method_settings={
            "unsir": {"noise_batch": 16, "noise_steps": 5, "batch_size": 64, "noise_copies": 2},
            "finetune": {"epochs": 1},
        },
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """gpu/data tests skip with a reason when the GPU or the data root is absent."""
    has_gpu = torch.cuda.is_available()
    data_root = os.environ.get("UNLEARN_DATA_ROOT")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
        if "data" in item.keywords and not (data_root and Path(data_root).exists()):
            item.add_marker(pytest.mark.skip(
                reason="needs the real data: set UNLEARN_DATA_ROOT to a folder with the CIFAR/face archives"))
