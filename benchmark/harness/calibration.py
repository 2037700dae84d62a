"""How fast this device runs a group's model: the calibration the estimate prices passes with.

``calibrate`` times training steps of the group's own model through the run's own
``train_epoch``, at the thread count the run will take: one warm-up step at each of two small
batch sizes, then the fastest of two steps at each, and the same for evaluation through
``predict_logits`` (0.1-0.3 s in all for the default preset, about 1 s for ResNet-9 with the
thread count's 0.3 s sampling). ``image_s`` is the slope between the two batch sizes (held
within half and all of the larger batch's time per image), ``step_s`` what the smaller step
has left over: small models are overhead-bound (the default preset's smallcnn on 8x8 digits),
large ones FLOP-bound. The calibration measures the machine as it is now, other jobs
included. From the same forward pass that counts the model's FLOPs it keeps each layer's
shape, which prices the CPU's layerwise importances (``Speed.layerwise``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import predict_logits, train_epoch
from benchmark.harness.grid import Group
from benchmark.harness.plan import Plan
from benchmark.harness.threads import choose_threads
from methods.per_sample_squares import squares_madds

# The layerwise squares' cost per multiply-add against training's: fitted to docs/BENCHMARKS.md's
# run 2 alone (2 Zen 3 EPYC vCPUs, torch 2.14.1; ms a sample over training ms an image:
# ResNet-9 2.2x (SSD) and 9.5x (Fisher), ResNet-18 1.4x and 4.2x). At 1.2 the price is
# 0.72x, 0.84x, 1.14x and 1.66x of those; at one training step a gradient, the price before
# (no model's layers in it), 0.46x, 1.06x, 0.72x and 2.4x.
SQUARES_COST = 1.2
# Below 8 images oneDNN's channels_last kernels took 1.1 s a ResNet-9 step instead of 0.05 s.
SMALLEST_BATCH = 8
CALIBRATION_FLOP = 2e9  # largest calibration batch: about this many training FLOPs (~20 ms)


Layers = tuple[tuple[int, int, int, int], ...]  # (out, k, groups, positions) a layer


@dataclass(frozen=True)
class Speed:
    """Seconds of one training step (fixed part) and of one image in it, on this device."""

    step_s: float
    image_s: float
    mflops: float = 0.0  # forward MFLOPs of one image (0: unknown)
    layers: Layers = ()  # each Conv2d and Linear: what the layerwise squares cost
    # Evaluation (no gradients, eval mode, as ``predict_logits``): its own calibration, else
    # a third of training. The leaderboard's ResNet-9 at batch 256 on 2 Zen 3 EPYC vCPUs
    # (3 rounds, beside a low-priority job): 0.45-0.48 ms an image against training's
    # 1.74-1.92 ms, 0.24-0.27 of it; the calibration's small batches gave 0.22-0.28.
    eval_step_s: float | None = None
    eval_image_s: float | None = None

    def train(self, images: float, batch: int) -> float:
        """Seconds of training passes over ``images`` images at ``batch`` per step."""
        return math.ceil(images / max(batch, 1)) * self.step_s + images * self.image_s

    def forward(self, images: float, batch: int) -> float:
        """Seconds of forward passes without gradients, in evaluation batches."""
        if self.eval_image_s is None or self.eval_step_s is None:
            return self.train(images, batch) / 3
        return math.ceil(images / max(batch, 1)) * self.eval_step_s + images * self.eval_image_s

    def layerwise(self, images: float, batch: int, cotangents: int) -> float:
        """Seconds of the CPU's layerwise squared per-sample gradients (Fisher: C - 1
        cotangents a sample, SSD: 1): a forward pass, a backward pass without weight gradients
        per cotangent (each about a third of a training step's image), and the squares at
        the multiply-adds of the way each layer takes (methods/per_sample_squares.py),
        ``SQUARES_COST`` times a training multiply-add. Without a layer count (an exotic
        model) the squares cost two thirds of a training image per cotangent."""
        passes = (1 + cotangents) / 3 * self.image_s
        if self.layers and self.mflops:
            per_madd = self.image_s / (1.5e6 * self.mflops)  # a training image: 3 forwards
            squares = SQUARES_COST * squares_madds(self.layers, cotangents) * per_madd
        else:
            squares = cotangents * 2 / 3 * self.image_s
        return math.ceil(images / max(batch, 1)) * self.step_s + images * (passes + squares)


def calibrate(plan: Plan, group: Group) -> Speed:
    """Seconds a training step and an image cost for the group's model on this device."""
    engine = plan.engine
    devices = [engine.device.index or 0] if engine.device.type == "cuda" else []
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=devices):  # estimating must not move a seeded stream
        model = group.factory(0)
        mflops, layers = layer_count(model, tuple(group.data.train_x.shape[1:]))  # before the layout change
        model = engine.prepare(model)
        if engine.device.type == "cpu":  # the count the run will take (sampled now if it must)
            torch.set_num_threads(choose_threads(plan.engine_options.threads, mflops)[0])
        try:
            return dataclasses.replace(_timed_steps(plan, group, model, mflops), layers=layers)
        finally:
            torch.set_num_threads(threads)


def layer_mflops(model: torch.nn.Module, image_shape: tuple[int, ...]) -> float | None:
    """Forward MFLOPs of one image from its convolutions and linear layers (multiply-adds
    count two), by forward hooks: ``threads.forward_mflops`` counts the same, but its FlopCounterMode
    imports torch._dynamo (2-3 s on 2 cores), more than the whole estimate. (A meta-device
    copy was slower still: its first use took 1-2 s.)"""
    return layer_count(model, image_shape)[0]


def layer_count(model: torch.nn.Module, image_shape: tuple[int, ...]) -> tuple[float | None, Layers]:
    """``layer_mflops`` and, from the same forward pass, (out, k, groups, positions) of every
    Conv2d and Linear (``Speed.layers``); (None, ()) for a model the count cannot run."""
    total = 0.0
    layers: list[tuple[int, int, int, int]] = []

    def count(module: torch.nn.Module, inputs: Any, output: Any) -> None:
        nonlocal total
        if isinstance(module, torch.nn.modules.conv._ConvNd):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += 2 * output.numel() * per_output
            if isinstance(module, torch.nn.Conv2d):
                layers.append((module.out_channels, module.in_channels * math.prod(module.kernel_size),
                               module.groups, math.prod(output.shape[2:])))
        elif isinstance(module, torch.nn.Linear):
            total += 2 * output.numel() * module.in_features
            layers.append((module.out_features, module.in_features, 1,
                           output.numel() // module.out_features))

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, torch.nn.modules.conv._ConvNd | torch.nn.Linear)]
    was_training = model.training
    try:  # this first forward pass also sets up the CPU kernels the calibration then uses
        parameter = next(model.parameters())
        with torch.no_grad():
            model.eval()(torch.zeros(1, *image_shape, device=parameter.device, dtype=parameter.dtype))
    except Exception:  # an exotic model: calibrate without the count
        return None, ()
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return total / 1e6, tuple(layers)


class _PlainSgd:
    """What ``train_epoch`` needs of an optimizer, without torch.optim: the first torch.optim
    optimizer of a process imports torch._dynamo (2-3 s on 2 cores; the run pays it anyway)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.parameters = [p for p in model.parameters() if p.requires_grad]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for parameter in self.parameters:
            if parameter.grad is not None:
                parameter.add_(parameter.grad, alpha=-1e-3)


def _timed_steps(plan: Plan, group: Group, model: torch.nn.Module, mflops: float | None) -> Speed:
    """Training steps through the run's own ``train_epoch`` at two small batch sizes."""
    engine, data = plan.engine, group.data
    recipe_batch = plan.recipe(group.model, group.dataset).batch_size
    big = int(CALIBRATION_FLOP / (3e6 * mflops)) if mflops else 16
    big = min(len(data.train_y), max(SMALLEST_BATCH * 2, min(64, recipe_batch, big)))
    small = max(1, min(max(SMALLEST_BATCH, big // 4), big // 2))
    normalizer = Normalizer(data.mean, data.std, engine.device)
    images = LabelledImages(data.train_x[:big], data.train_y[:big]).to(engine.device)
    optimizer = _PlainSgd(model)
    generator = torch.Generator().manual_seed(0)

    def step(batch: int) -> float:
        part = LabelledImages(images.x[:batch], images.y[:batch])
        engine.synchronize()
        start = time.perf_counter()
        train_epoch(model, [part], optimizer, engine, normalizer, batch, generator)  # type: ignore[arg-type]
        engine.synchronize()
        return time.perf_counter() - start

    def evaluation(batch: int) -> float:
        engine.synchronize()
        start = time.perf_counter()
        predict_logits(model, images.x[:batch], engine, normalizer)
        engine.synchronize()
        return time.perf_counter() - start

    step(big), step(small)  # first calls: allocation, kernel selection
    t_big = min(step(big) for _ in range(2))  # the fastest: the least disturbed by other work
    t_small = min(step(small) for _ in range(2))
    training = speed_from_steps(small, t_small, big, t_big, mflops)
    evaluation(big), evaluation(small)  # eval mode's own kernels
    e_big = min(evaluation(big) for _ in range(2))
    e_small = min(evaluation(small) for _ in range(2))
    evaluating = speed_from_steps(small, e_small, big, e_big)
    return dataclasses.replace(training, eval_step_s=evaluating.step_s, eval_image_s=evaluating.image_s)


def speed_from_steps(small: int, t_small: float, big: int, t_big: float,
                     mflops: float | None = None) -> Speed:
    """A Speed from the fastest training step at two batch sizes (``small`` < ``big``)."""
    # The slope between the two points is what an image adds to a step, which is what a
    # large batch costs an image: on 2 Zen 3 EPYC threads ResNet-9 took 2.53 ms an image at
    # batch 16, 1.53 ms of slope between batches 8 and 16, and 1.77 ms at batch 256 (the
    # big step's own time per image overestimated cifar10-cpu by 1.8-1.9x). On a shared
    # machine the slope of two noisy points swung 3x between runs, so it is held within
    # [half, all] of the big step's time per image; the fixed part of a step is what the
    # small step has left over.
    per_image = t_big / big
    slope = (t_big - t_small) / (big - small) if big > small else per_image
    image_s = min(per_image, max(slope, per_image / 2))
    step_s = max(t_small - small * image_s, 0.0)
    return Speed(step_s, image_s, mflops or 0.0)
