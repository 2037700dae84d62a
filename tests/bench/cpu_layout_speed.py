"""CPU images/s of a model by memory layout and evaluation batch size (not a test).

Times training steps (batch 256, SGD) and inference passes for the contiguous (NCHW) and the
channels_last (NHWC) layout, interleaved over several rounds so that a change in the
machine's load hits both alike. Prints one JSON line per measurement and a summary of the
median per setting. Measure alone on the machine.

    python tests/bench/cpu_layout_speed.py [--model resnet9] [--rounds 3] [--threads 2]

The table "Memory layout and evaluation batch size on the CPU" in docs/BENCHMARKS.md comes
from this script.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from benchmark.core.engine import Engine, cpu_model
from benchmark.models import create_model

MODEL_KWARGS = {"resnet9": {"width": 32, "stem_stride": 2}}  # the cifar10-cpu preset's


def layout(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """The input in the layout the harness feeds it (see predict_logits / train_epoch)."""
    return images.contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def train_speed(model: nn.Module, channels_last: bool, steps: int) -> float:
    x = layout(torch.randn(256, 3, 32, 32), channels_last)
    y = torch.randint(0, 10, (256,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return steps * 256 / (time.perf_counter() - start)


@torch.no_grad()
def eval_speed(model: nn.Module, channels_last: bool, batch: int, images: int) -> float:
    x = torch.randn(images, 3, 32, 32)
    model.eval()
    start = time.perf_counter()
    for begin in range(0, images, batch):
        model(layout(x[begin:begin + batch], channels_last))
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet9")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=12)
    parser.add_argument("--eval-images", type=int, default=8192)
    parser.add_argument("--eval-batches", default="128,256,512,2048")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # Models laid out as the harness lays them out (Engine.prepare).
    models = {cl: Engine.for_device("cpu", channels_last=cl).prepare(
                  create_model(args.model, num_classes=10, **MODEL_KWARGS.get(args.model, {})))
              for cl in (False, True)}
    batches = [int(b) for b in args.eval_batches.split(",")]
    seen: dict[str, list[float]] = {}
    for cl in (False, True):  # warm-up: oneDNN picks and caches its kernels on first use
        train_speed(models[cl], cl, 2)
        eval_speed(models[cl], cl, batches[0], batches[0])
    for round_index in range(args.rounds):
        for cl in (False, True):
            name = "channels_last" if cl else "contiguous"
            results = {f"train b256 {name}": train_speed(models[cl], cl, args.train_steps)}
            for batch in batches:
                results[f"eval b{batch} {name}"] = eval_speed(models[cl], cl, batch,
                                                              args.eval_images)
            for key, value in results.items():
                seen.setdefault(key, []).append(value)
                print(json.dumps({"round": round_index, "setting": key,
                                  "images_per_s": round(value)}), flush=True)
    print(f"# {args.model}, {args.threads} threads, {cpu_model()}, torch {torch.__version__}, "
          f"{args.rounds} rounds: median (min-max) images/s")
    for key, values in seen.items():
        print(f"{key}: {statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})")


if __name__ == "__main__":
    main()
