"""A training killed after some epochs resumes from its last saved epoch to the same weights
an uninterrupted training gives (benchmark.core.epoch_checkpoint)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import benchmark.core.epoch_checkpoint as epoch_checkpoint
import benchmark.core.training as training
from benchmark import api
from benchmark.core.artifacts import ArtifactStore
from benchmark.core.engine import Engine
from benchmark.core.epoch_checkpoint import EpochCheckpoint
from benchmark.core.tensors import LabelledImages
from benchmark.core.training import TrainRecipe, train_with_recipe
from tests.helpers import new_model, normalizer, tiny_data

EPOCHS = 4
RECIPES = {
    # Every state the rest of a training depends on: momentum, the one-cycle position, the
    # data order and the augmentation draws (global RNG) ...
    "onecycle": TrainRecipe(epochs=EPOCHS, batch_size=16, lr=0.05, augment=True),
    # ... and a plateau scheduler's counters.
    "plateau": TrainRecipe(epochs=EPOCHS, batch_size=16, lr=0.05, schedule="plateau",
                           plateau_patience=0, optimizer="adam", augment=True),
}


class Killed(BaseException):  # not caught as a failed cell, as kill -9 is not
    """Stands for kill -9 during an epoch."""


def _train(recipe: TrainRecipe, checkpoint: EpochCheckpoint | None = None,
           kill_at_epoch: int | None = None) -> tuple[torch.nn.Module, list[float]]:
    data = tiny_data()
    model = new_model(data, seed=0)
    torch.manual_seed(123)  # the global stream the augmentations draw from

    def on_epoch(epoch: int, loss: float) -> None:
        if epoch == kill_at_epoch:  # before this epoch's save: it is lost, as in a kill
            raise Killed

    losses = train_with_recipe(model, LabelledImages(data.train_x, data.train_y), recipe,
                               Engine.for_device("cpu"), normalizer(data), seed=7,
                               on_epoch=on_epoch, checkpoint=checkpoint)
    return model, losses


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_resumed_training_equals_uninterrupted(tmp_path: Path, name: str) -> None:
    recipe = RECIPES[name]
    reference, reference_losses = _train(recipe)
    store = ArtifactStore(tmp_path)
    with pytest.raises(Killed):
        _train(recipe, EpochCheckpoint(store, "partial_original", "0" * 16, every_s=0),
               kill_at_epoch=2)  # epochs 0 and 1 are saved, epoch 2 is lost
    assert store.load("partial_original", "0" * 16)[1] == {"epoch": 2}
    resumed_checkpoint = EpochCheckpoint(store, "partial_original", "0" * 16, every_s=0)
    resumed, losses = _train(recipe, resumed_checkpoint)
    assert resumed_checkpoint.resumed_seconds > 0
    assert losses == reference_losses
    for (name_a, a), (_, b) in zip(reference.state_dict().items(), resumed.state_dict().items(),
                                   strict=True):
        assert torch.equal(a, b), name_a


def test_an_unreadable_checkpoint_means_starting_over(tmp_path: Path) -> None:
    recipe = RECIPES["onecycle"]
    reference, _ = _train(recipe)
    store = ArtifactStore(tmp_path)
    with pytest.raises(Killed):
        _train(recipe, EpochCheckpoint(store, "partial_original", "1" * 16, every_s=0),
               kill_at_epoch=2)
    weights = store.path("partial_original", "1" * 16)
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated: fails its checksum
    checkpoint = EpochCheckpoint(store, "partial_original", "1" * 16, every_s=0)
    model, _ = _train(recipe, checkpoint)
    assert checkpoint.resumed_seconds == 0
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(),
                                                 model.state_dict().values(), strict=True))


def test_short_trainings_write_no_checkpoint(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    _train(RECIPES["onecycle"], EpochCheckpoint(store, "partial_original", "2" * 16))
    assert store.load("partial_original", "2" * 16) is None


def _kill() -> None:
    raise Killed


def _at_epoch(training_number: int, epoch: int, action: Callable[[], None]) -> Callable[..., None]:
    """``training.progress`` that calls ``action`` at ``epoch`` of the process's
    ``training_number``-th training (1: the original, 2: the gold retrain), then reports."""
    report = training.progress
    trainings = 0

    def progress(done: int, total: int, text: str = "") -> None:
        nonlocal trainings
        trainings += done == 1
        if done == epoch and trainings == training_number:
            action()
        report(done, total, text)

    return progress


# The default preset, shortened (each run of it 4 s instead of 19 s alone on a Zen 3 core):
# 5 epochs, so the kill at epoch 3 below falls inside the training (the test fails if it
# does not), and neither relearning nor more than one epoch of fine-tuning.
SHORT = {"train.epochs": 5, "metrics.relearn": False, "finetune.epochs": 1}


# The entry kinds are the Role values: "original", and "retrain" for the gold model.
@pytest.mark.parametrize(("kind", "training_number"), [("original", 1), ("retrain", 2)])
def test_a_killed_run_resumes_its_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            kind: str, training_number: int) -> None:
    """Through the harness: a reference model (the original, trained first, or the gold
    retrain, second) killed in training is resumed by the next run, stored with the resumed
    time, and equals the one an uninterrupted run stores."""
    kwargs = dict(methods=["finetune"], results=str(tmp_path / "r.sqlite"), settings=SHORT)
    fresh = tmp_path / "fresh"
    api.run(cache_dir=str(fresh), **kwargs)

    monkeypatch.setattr(epoch_checkpoint, "SAVE_EVERY_S", 0.0)
    original_progress = training.progress
    monkeypatch.setattr(training, "progress", _at_epoch(training_number, 3, _kill))
    killed = tmp_path / "killed"
    kwargs["results"] = str(tmp_path / "k.sqlite")
    with pytest.raises(Killed):
        api.run(cache_dir=str(killed), **kwargs)
    assert len(list((killed / "checkpoints").glob(f"partial_{kind}-*.json"))) == 1
    monkeypatch.setattr(training, "progress", original_progress)
    api.run(cache_dir=str(killed), **kwargs)

    assert not list((killed / "checkpoints").glob("partial_*"))
    [fresh_weights] = (fresh / "checkpoints").glob(f"{kind}-*.pt")
    resumed_weights = killed / "checkpoints" / fresh_weights.name  # the same cache key
    a, b = (torch.load(p, weights_only=True) for p in (fresh_weights, resumed_weights))
    assert all(torch.equal(a[k], b[k]) for k in a)
    meta = ArtifactStore(killed / "checkpoints").load(kind, fresh_weights.stem.split("-")[1])[1]
    assert meta["resumed_after_s"] > 0


def test_a_paused_or_disturbed_training_is_told_from_a_steady_one(tmp_path: Path) -> None:
    checkpoint = EpochCheckpoint(ArtifactStore(tmp_path), "partial_retrain", "3" * 16)
    checkpoint.epoch_seconds = [101.0, 99.0, 100.0, 102.0]
    assert checkpoint.disturbance(402.0) is None  # steady, a few seconds outside the epochs
    checkpoint.epoch_seconds = [101.0, 99.0, 5200.0, 102.0]  # SIGSTOP'd in its third epoch
    assert checkpoint.disturbance(5502.0).startswith("epoch 3 took 5200 s against a median")
    checkpoint.epoch_seconds = [101.0, 99.0, 100.0, 102.0]  # stopped between two epochs
    assert "outside its epochs" in checkpoint.disturbance(3402.0)
    checkpoint.epoch_seconds = [0.1, 0.1, 1.2]  # short trainings jitter: under DISTURBED_MIN_S
    assert checkpoint.disturbance(1.4) is None


def test_no_speed_up_against_a_gold_time_that_was_paused(tiny_spec, monkeypatch) -> None:
    """Through the harness: a gold retrain that sleeps in one epoch (as a stopped process
    would) stores why its time is not comparable, and no method divides by it."""
    import time

    from benchmark.harness.plan import plan_of
    from benchmark.harness.runner import run_grid

    monkeypatch.setattr(epoch_checkpoint, "DISTURBED_MIN_S", 0.0)
    # The second training (the gold retrain) sleeps in its second epoch.
    monkeypatch.setattr(training, "progress", _at_epoch(2, 2, lambda: time.sleep(2.0)))
    tiny_spec.methods = ["finetune"]
    rows = {row["method"]: row for row in run_grid(plan_of(tiny_spec)).rows}
    gold_setup = rows["finetune"]["timings"]["gold_measured_on"]
    assert gold_setup["disturbed"].startswith("epoch 2 took ")
    assert rows["finetune"]["metrics"]["speedup_vs_retrain"] is None
    assert "not comparable" in rows["finetune"]["metrics"]["speedup_note"]
    assert "disturbed" not in rows["original"]["timings"]["measured_on"]
