"""What the harness's timer measures, and when two times may be divided.

Every timed call (training the original, retraining the gold model, each method's
``unlearn``) is timed the same way: the model it starts from is copied *before* the timer
starts, a short warm-up runs before it on a throwaway copy, and the timer (CUDA-
synchronised wall time) covers the call alone. The warm-up exists because the first
training steps in a process pay one-off costs (kernel selection, allocator growth, lazy
initialisation: 1.61 s against 0.52 s for the same UNSIR call on digits); without it a
resumed run, which loads its references from the cache and trains nothing first, would
time its first method slower than a full run does.

A speedup divides the gold model's time by a method's only when both were measured on the
same setup: host, device (CPU model or card), intra-op threads and precision. Otherwise it
is null and the row says why (``speedup_note``). A gold model loaded from the cache keeps
the setup it was timed on; pass a fresh ``--cache-dir`` to re-measure it here.
"""

from __future__ import annotations

import copy
import gc
from typing import Any

import torch
from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import make_optimizer, predict_logits, train_epoch

WARM_UP_BATCH = 64
WARM_UP_STEPS = 2


def warm_up(model: nn.Module, engine: Engine, normalizer: Normalizer,
            image_shape: tuple[int, ...], num_classes: int) -> None:
    """A few SGD and Adam steps, one input-gradient step and one evaluation batch on a
    throwaway copy of ``model``, so the timed call after it pays no first-call costs.

    The global RNG is left as it was (dropout in the warm-up draws from a forked state), so
    warming up changes no result.
    """
    devices = [engine.device.index or 0] if engine.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        _warm_up(model, engine, normalizer, image_shape, num_classes)


def _warm_up(model: nn.Module, engine: Engine, normalizer: Normalizer,
             image_shape: tuple[int, ...], num_classes: int) -> None:
    scratch = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (WARM_UP_BATCH, *image_shape), dtype=torch.uint8,
                      generator=generator).to(engine.device)
    y = torch.randint(0, num_classes, (WARM_UP_BATCH,), generator=generator).to(engine.device)
    data = LabelledImages(x, y)
    for optimizer in ("sgd", "adam"):
        for _ in range(WARM_UP_STEPS):
            train_epoch(scratch, [data], make_optimizer(scratch.parameters(), optimizer, 1e-4),
                        engine, normalizer, WARM_UP_BATCH, generator)
    inputs = normalizer(x).requires_grad_(True)  # UNSIR-style steps differentiate the input
    if engine.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    with engine.autocast():
        scratch(inputs).float().sum().backward()
    predict_logits(scratch, x, engine, normalizer)
    engine.synchronize()
    del scratch
    gc.collect()


def speedup(gold_seconds: float | None, gold_setup: dict[str, Any] | None, seconds: float,
            setup: dict[str, Any]) -> tuple[float | None, str | None]:
    """``gold_seconds / seconds`` when both were timed on the same setup, else (None, why)."""
    if gold_seconds is None:
        return None, "the gold model has no time (it failed)"
    if not gold_setup:
        return None, "the gold model's time was stored without its setup (an older cache entry)"
    if gold_setup.get("disturbed"):
        return None, f"the gold model's time is not comparable: {gold_setup['disturbed']}"
    different = [key for key in ("host", "device", "threads", "precision")
                 if gold_setup.get(key) != setup.get(key)]
    if different:
        detail = ", ".join(f"{key} {gold_setup.get(key)!r} vs {setup.get(key)!r}" for key in different)
        return None, f"gold time measured on another setup ({detail}); use a fresh --cache-dir"
    if seconds <= 0:
        return None, "the method took no measurable time"
    return gold_seconds / seconds, None
