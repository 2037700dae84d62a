"""The harness on the real archives (marker ``data``; skipped unless UNLEARN_DATA_ROOT is set)."""

from __future__ import annotations

import os

import pytest

from benchmark.core.training import TrainRecipe
from benchmark.harness.runner import run
from benchmark.harness.spec import DataOptions, MetricOptions, RunSpec


@pytest.mark.data
@pytest.mark.parametrize("dataset, forget", [("cifar10", "0,2"), ("cifar20", "18"), ("faces", "0")])
def test_short_run_on_real_data(tmp_path, dataset: str, forget: str) -> None:
    spec = RunSpec(
        methods=["unsir"], models=["smallcnn"], datasets=[dataset], forget=[forget], seeds=[0],
        device="cpu", data_root=os.environ["UNLEARN_DATA_ROOT"],
        results=str(tmp_path / "r.sqlite"),  # the session cache root: CIFAR decoded once
        train=TrainRecipe(epochs=3, batch_size=128, lr=0.05),
        metrics=MetricOptions(relearn=False, mia=False),
        data=DataOptions(train_per_class=200, test_per_class=50),  # minutes, not an hour, on a CPU
        method_settings={"unsir": {"noise_steps": 5, "retain_per_class": 50}},
    )
    rows = {row["method"]: row for row in run(spec)}
    assert set(rows) == {"original", "retrain", "unsir"}
    classes = 10 if dataset == "cifar10" else 20 if dataset == "cifar20" else 100
    assert rows["original"]["metrics"]["test_acc"] > 1.5 / classes  # above chance
    assert rows["retrain"]["metrics"]["forget_acc_test"] == 0.0
