"""The code CUDA runs, run on the CPU: bf16 autocast, channels_last, on-device augmentation,
and the plateau-on-test schedule of the official preset."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmark.core.engine import CPU_EVAL_BATCH, Engine
from benchmark.core.errors import UserError
from benchmark.core.tensors import Augment, LabelledImages
from benchmark.core.training import TrainRecipe, predict_logits, train_with_recipe
from benchmark.harness.runner import run
from tests.helpers import new_model, normalizer, tiny_data


def test_engine_switches_resolve_per_device() -> None:
    cpu = Engine.for_device("cpu")
    assert (cpu.precision, cpu.channels_last, cpu.amp) == ("fp32", False, False)
    gpu_path = Engine.for_device("cpu", precision="bf16", channels_last=True)
    assert (gpu_path.precision, gpu_path.channels_last, gpu_path.amp) == ("bf16", True, True)
    with pytest.raises(UserError, match="engine.precision"):
        Engine.for_device("cpu", precision="fp16")
    # The CPU evaluates in cache-sized batches (measured faster per image than 2048).
    assert cpu.eval_batch_size == gpu_path.eval_batch_size == CPU_EVAL_BATCH < 2048


def test_logits_do_not_depend_on_the_evaluation_batch_size() -> None:
    data = tiny_data()
    model, cpu = new_model(data), Engine.for_device("cpu")
    large = dataclasses.replace(cpu, eval_batch_size=10_000)
    one_batch = predict_logits(model, data.test_x, large, normalizer(data))
    batched = predict_logits(model, data.test_x, dataclasses.replace(cpu, eval_batch_size=7),
                             normalizer(data))
    assert torch.allclose(one_batch, batched, atol=1e-5)


def test_bf16_autocast_and_channels_last_train_and_predict_on_the_cpu() -> None:
    data = tiny_data()
    engine = Engine.for_device("cpu", precision="bf16", channels_last=True)
    model = engine.prepare(new_model(data))
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    with engine.autocast():
        assert model(torch.zeros(2, *data.train_x.shape[1:])).dtype == torch.bfloat16
    recipe = TrainRecipe(epochs=3, batch_size=64, lr=0.05, augment=True)
    losses = train_with_recipe(model, LabelledImages(data.train_x, data.train_y), recipe, engine,
                               normalizer(data), seed=0)
    assert losses[-1] < losses[0]  # it learns under bf16 with augmentation on
    logits = predict_logits(model, data.test_x, engine, normalizer(data))
    assert logits.dtype == torch.float32  # metrics always see float32
    assert float((logits.argmax(1) == data.test_y).float().mean()) > 0.3


def test_augment_crops_with_zero_padding_and_flips_whole_images() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4) + 1
    generator = torch.Generator().manual_seed(0)
    flipped = Augment(crop_padding=0, flip=True)(x, generator)
    for image, original in zip(flipped, x, strict=True):
        assert torch.equal(image, original) or torch.equal(image, original.flip(2))
    shifted = Augment(crop_padding=2, flip=False)(x, torch.Generator().manual_seed(3))
    assert shifted.shape == x.shape
    for image, original in zip(shifted, x, strict=True):
        kept = image[image > 0]  # zeros come from the padding, the rest is a shifted window
        assert set(kept.tolist()) <= set(original.flatten().tolist())
    many = Augment(crop_padding=2)(x.repeat(32, 1, 1, 1), torch.Generator().manual_seed(1))
    assert len({tuple(img.flatten().tolist()) for img in many}) > 4  # offsets vary per image


def test_plateau_schedule_on_the_test_loss_steps_the_learning_rate(monkeypatch) -> None:
    data = tiny_data()
    seen = []
    real = torch.optim.lr_scheduler.ReduceLROnPlateau.step
    monkeypatch.setattr(torch.optim.lr_scheduler.ReduceLROnPlateau, "step",
                        lambda self, metric: seen.append(metric) or real(self, metric))
    recipe = TrainRecipe(epochs=3, batch_size=64, lr=0.01, optimizer="adam", schedule="plateau",
                         plateau_monitor="test", plateau_patience=0, augment=False,
                         grad_clip_value=0.1)
    monitor = LabelledImages(data.test_x, data.test_y)
    model = new_model(data)
    train_with_recipe(model, LabelledImages(data.train_x, data.train_y), recipe,
                      Engine.for_device("cpu"), normalizer(data), 0, monitor)
    assert len(seen) == 3 and all(isinstance(v, float) for v in seen)


@pytest.mark.slow
def test_the_harness_runs_a_whole_grid_on_the_cuda_path(tiny_spec) -> None:
    tiny_spec.methods = ["unsir", "finetune"]
    tiny_spec.engine = type(tiny_spec.engine)(precision="bf16", channels_last=True)
    tiny_spec.train = TrainRecipe(epochs=3, batch_size=64, lr=0.05, augment=True)
    rows = {row["method"]: row for row in run(tiny_spec)}
    assert all(row["status"] == "ok" for row in rows.values()), rows
    assert {row["spec"]["precision"] for row in rows.values()} == {"bf16"}
    assert rows["unsir"]["timings"]["measured_on"]["precision"] == "bf16"
    assert rows["retrain"]["metrics"]["forget_acc_test"] == 0.0
