"""Training time per image against batch size on the CPU (why the estimate takes a slope).

One training step (forward, cross-entropy, backward, a plain SGD update) on random images at
batches 8-256, the fastest of 3 steps after a warm-up step, for the suite's CPU models laid
out as their presets train them. The table "Alone, before and after the slope calibration" in
docs/BENCHMARKS.md comes from it:

    python -m tests.bench.batch_scaling [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmark.harness.calibration import _PlainSgd
from benchmark.models.registry import create_model

# name, options, image size, channels, channels_last (as the presets lay them out)
CASES = (("resnet9", {"width": 32, "stem_stride": 2}, 32, 3, True),  # cifar10-cpu
         ("resnet18_imagenet", {}, 32, 3, False),  # paper-cifar10-official
         ("smallcnn", {}, 8, 1, False))  # the default preset (digits)
BATCHES = (8, 16, 32, 64, 128, 256)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, options, size, channels, channels_last in CASES:
        model = create_model(name, 10, in_channels=channels, image_size=size, **options)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = _PlainSgd(model)
        images = torch.randint(0, 255, (max(BATCHES), channels, size, size), dtype=torch.uint8)
        labels = torch.randint(0, 10, (max(BATCHES),))
        model.train()
        for batch in BATCHES:
            times = []
            for _ in range(4):
                start = time.perf_counter()  # the step normalises its uint8 batch, as training does
                x = (images[:batch].float() / 255 - 0.5) / 0.25
                x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(x), labels[:batch]).backward()
                optimizer.step()
                times.append(time.perf_counter() - start)
            best = min(times[1:])  # the first is the warm-up
            print(f"{name} threads {args.threads} batch {batch}: {best * 1e3:.1f} ms a step, "
                  f"{best / batch * 1e3:.3f} ms an image", flush=True)


if __name__ == "__main__":
    main()
