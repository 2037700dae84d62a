"""The harness on the real archives (marker ``data``; skipped unless UNLEARN_DATA_ROOT is set)."""

from __future__ import annotations

import os

import pytest

from benchmark.runner import run
from benchmark.spec import MetricOptions, RunSpec
from benchmark.training import TrainRecipe


@pytest.mark.data
@pytest.mark.parametrize("dataset, forget", [("cifar10", "0,2"), ("cifar20", "18"), ("faces", "0")])
def test_one_epoch_run_on_real_data(tmp_path, dataset: str, forget: str) -> None:
    spec = RunSpec(
        methods=["unsir"], models=["smallcnn"], datasets=[dataset], forget=[forget], seeds=[0],
        device="cpu", data_root=os.environ["UNLEARN_DATA_ROOT"],
        results=str(tmp_path / "r.sqlite"), cache_dir=str(tmp_path / "cache"),
        train=TrainRecipe(epochs=1, batch_size=256, lr=0.05),
        metrics=MetricOptions(relearn=False, mia=False),
        method_settings={"unsir": {"noise_steps": 5, "retain_per_class": 50}},
    )
    rows = {row["method"]: row for row in run(spec)}
    assert set(rows) == {"original", "retrain", "unsir"}
    assert rows["original"]["metrics"]["test_acc"] > 1.5 / 100 * 10  # well above chance
    assert rows["retrain"]["metrics"]["forget_acc_test"] == 0.0
