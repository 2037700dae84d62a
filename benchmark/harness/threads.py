"""How many intra-op CPU threads a group runs with, chosen from the work's size.

Two processes that each start two OpenMP threads on two cores slow each other 5-30x (the
default preset: 13.6 s alone, 84-476 s beside other jobs), and a model as small as the
default's gains nothing from a second thread. So, unless ``--threads N`` (``engine.threads``)
or ``OMP_NUM_THREADS`` says otherwise: a model below ``SMALL_MODEL_MFLOPS`` forward MFLOPs per
image runs on one thread; a larger one takes the cores the load average leaves free (at
least one). The count and the reason are stored with every row (provenance).
"""

from __future__ import annotations

import os

import torch
from torch import nn

# Measured (docs/BENCHMARKS.md, "Threads"): below this a second thread did not pay.
SMALL_MODEL_MFLOPS = 5.0


def forward_mflops(model: nn.Module, image_shape: tuple[int, ...]) -> float | None:
    """Forward MFLOPs of one image (multiply-adds count two), or None when uncountable."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:  # pragma: no cover - torch < 2.1
        return None
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            parameter = next(model.parameters())
            model(torch.zeros(1, *image_shape, device=parameter.device, dtype=parameter.dtype))
        return counter.get_total_flops() / 1e6
    except Exception:  # an exotic model the counter cannot trace: fall back to the cores rule
        return None
    finally:
        model.train(was_training)


def choose_threads(requested: int, mflops: float | None) -> tuple[int, str]:
    """(intra-op threads, why) for a CPU group; ``requested`` > 0 wins."""
    if requested:
        return requested, "set by --threads / engine.threads"
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return int(os.environ["OMP_NUM_THREADS"]), "set by OMP_NUM_THREADS"
    if mflops is not None and mflops < SMALL_MODEL_MFLOPS:
        return 1, f"small model ({mflops:.1f} MFLOPs an image): one thread"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    free = max(1, min(cores, round(cores - load)))
    return free, f"{cores} cores, load average {load:.1f}: {free} free"
