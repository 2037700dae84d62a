"""Exact Fisher and SSD importances on the CPU: the torch.func path against the layerwise one.

Measures in one process, interleaved round by round (train, old, new, old, new, ...), so
that a change in the machine's load hits every variant alike:

* a training step's time per image (batch 256, SGD + Nesterov, train mode, in the layout
  the model's preset trains in: channels_last for cifar10-cpu's ResNet-9, contiguous for
  the paper's ResNet-18),
* the exact Fisher diagonal per sample (``fisher_diagonal``, ``approximation="exact"``)
  with ``backend="func"`` (the torch.func path, the default before) and
  ``backend="layerwise"`` (methods/per_sample_squares.py), each at its automatic chunk size,
* the same for SSD's importances (``approximation="empirical"``: one class a sample).

Random 32x32 images (timing does not depend on the values). Both paths see the same
images and the largest relative difference of their diagonals is printed (elements above
1e-5 of their tensor's largest). Prints one JSON line per measurement and a markdown table:
medians with (min-max) over the rounds; "vs C train" = Fisher time per sample / (C x the
training time per image); "speed-up" = the median of each round's old/new ratio.

    OMP_NUM_THREADS=2 python -m tests.bench.fisher_speed [--rounds 3] [--threads 2]

The table "Exact Fisher and SSD importances on the CPU" in docs/BENCHMARKS.md comes from it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from benchmark.cli.fisher_backends import largest_difference
from benchmark.core.engine import Engine, cpu_model
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.models import create_model
from methods.fisher_diagonal import fisher_diagonal

# name -> (registry name, kwargs, channels_last as its preset trains it)
MODELS = {
    "resnet9": ("resnet9", {"width": 32, "stem_stride": 2}, True),  # cifar10-cpu
    "resnet18_imagenet": ("resnet18_imagenet", {}, False),  # paper-cifar10-official
}
CLASSES = 10


def train_ms_per_image(model: nn.Module, channels_last: bool, steps: int, batch: int = 256) -> float:
    x = torch.randn(batch, 3, 32, 32)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, CLASSES, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - start) * 1e3 / (steps * batch)


def fisher_ms_per_sample(model: nn.Module, data: LabelledImages, normalizer: Normalizer,
                         backend: str, approximation: str) -> tuple[float, dict[str, torch.Tensor]]:
    start = time.perf_counter()
    result = fisher_diagonal(model, data, normalizer, "cpu", approximation=approximation,
                             backend=backend)
    return (time.perf_counter() - start) * 1e3 / len(data), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet9,resnet18_imagenet")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=6)
    parser.add_argument("--old-samples", default="resnet9=16,resnet18_imagenet=6",
                        help="samples of a torch.func run, per model")
    parser.add_argument("--new-samples", type=int, default=96)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    old_samples = dict(item.split("=") for item in args.old_samples.split(","))
    normalizer = Normalizer((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261), torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    rows: list[str] = []
    for key in args.models.split(","):
        name, kwargs, channels_last = MODELS[key]
        torch.manual_seed(0)
        model = Engine.for_device("cpu", channels_last=channels_last).prepare(
            create_model(name, num_classes=CLASSES, **kwargs))
        images = torch.randint(0, 256, (args.new_samples, 3, 32, 32), dtype=torch.uint8,
                               generator=generator)
        labels = torch.randint(0, CLASSES, (args.new_samples,), generator=generator)
        new_data = LabelledImages(images, labels)
        n_old = int(old_samples.get(key, 16))
        old_data = LabelledImages(images[:n_old], labels[:n_old])
        # Warm-up (oneDNN picks its kernels on first use) and the value check on the same images.
        train_ms_per_image(model, channels_last, 1)
        differences = {}
        for approximation in ("exact", "empirical"):
            _, old = fisher_ms_per_sample(model, old_data, normalizer, "func", approximation)
            _, new = fisher_ms_per_sample(model, old_data, normalizer, "layerwise", approximation)
            differences[approximation] = largest_difference(old, new)
        seen: dict[str, list[float]] = {}
        for round_index in range(args.rounds):
            results = {"train": train_ms_per_image(model, channels_last, args.train_steps)}
            for approximation in ("exact", "empirical"):
                results[f"{approximation} func"], _ = fisher_ms_per_sample(
                    model, old_data, normalizer, "func", approximation)
                results[f"{approximation} layerwise"], _ = fisher_ms_per_sample(
                    model, new_data, normalizer, "layerwise", approximation)
                results[f"{approximation} speed-up"] = (
                    results[f"{approximation} func"] / results[f"{approximation} layerwise"])
            for setting, value in results.items():
                seen.setdefault(setting, []).append(value)
                print(json.dumps({"model": key, "round": round_index, "setting": setting,
                                  "value": round(value, 4)}), flush=True)

        def cell(setting: str, digits: int = 2, seen: dict[str, list[float]] = seen) -> str:
            values = seen[setting]
            return (f"{statistics.median(values):.{digits}f} "
                    f"({min(values):.{digits}f}-{max(values):.{digits}f})")

        train = statistics.median(seen["train"])
        for approximation, classes in (("exact", CLASSES), ("empirical", 1)):
            for backend in ("func", "layerwise"):
                setting = f"{approximation} {backend}"
                ratio = statistics.median(seen[setting]) / (classes * train)
                speed = cell(f"{approximation} speed-up", 1) if backend == "layerwise" else "1"
                rows.append(f"| {key} | {approximation} | {backend} | {cell(setting)} | "
                            f"{ratio:.1f}x | {speed} | {cell('train', 3)} | "
                            f"{differences[approximation]:.1e} |")
    print(f"\n# {args.threads} threads, {cpu_model()}, torch {torch.__version__}, "
          f"{args.rounds} rounds: median (min-max)")
    print("| model | importances | backend | ms / sample | vs C train | speed-up | "
          "train ms / image | largest rel. diff |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
