"""How many intra-op CPU threads a group runs with, chosen from the work's size.

Two processes that each start two OpenMP threads on two cores slow each other 5-30x (the
default preset: 13.6 s alone, 84-476 s beside other jobs), and a model as small as the
default's gains nothing from a second thread. So, unless ``--threads N`` (``engine.threads``)
or ``OMP_NUM_THREADS`` says otherwise: a model below ``SMALL_MODEL_MFLOPS`` forward MFLOPs per
image runs on one thread; a larger one takes the cores that other processes leave free (at
least one). The count and the reason are stored with every row (provenance).

"Free" is sampled now, over ``BUSY_SAMPLE_S``, from /proc/stat's CPU counters, not read
from the one-minute load average: that average lags by minutes, so a run started right after
another job ended saw load 1.0 on an idle 2-core machine and took one thread, halving its
speed (cifar10-cpu's original: 461 s instead of about 230 s). The load average stays the
fallback where /proc/stat does not exist (macOS, Windows).
"""

from __future__ import annotations

import os
import time

import torch
from torch import nn

# Measured (docs/BENCHMARKS.md, "Threads"): below this a second thread did not pay.
SMALL_MODEL_MFLOPS = 5.0
BUSY_SAMPLE_S = 0.3  # long enough to average scheduler ticks, short beside any real run


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
    busy, source = busy_cores()
    free = max(1, min(cores, round(cores - busy)))
    return free, f"{cores} cores, {busy:.1f} busy ({source}): {free} free"


def busy_cores() -> tuple[float, str]:
    """Cores other processes keep busy now, and where the figure came from."""
    first = _cpu_counters()
    if first is not None:
        time.sleep(BUSY_SAMPLE_S)  # this process sleeps meanwhile, so it does not count itself
        second = _cpu_counters()
        if second is not None and second[1] > first[1]:
            busy_share = (second[0] - first[0]) / (second[1] - first[1])
            total_cpus = os.cpu_count() or 1
            return busy_share * total_cpus, f"sampled over {BUSY_SAMPLE_S} s"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return load, "load average"


def _cpu_counters() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None where it is unreadable."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])  # guest time is already inside user
