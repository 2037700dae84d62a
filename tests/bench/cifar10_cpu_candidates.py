"""Candidate models for the ``cifar10-cpu`` preset: accuracy against CPU time (not a test).

Trains each candidate on all 50,000 CIFAR-10 training images with the same recipe and
prints one JSON line per candidate: test accuracy, training images per second and the
seconds the training took. Accuracy does not depend on the machine's load; the times do,
so measure those alone on the machine (``--only-speed`` times 200 training steps instead).

    python tests/bench/cifar10_cpu_candidates.py --data-root DATA [--epochs 8] [--only-speed]

The table in docs/BENCHMARKS.md comes from this script.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from benchmark.core.engine import Engine
from benchmark.core.tensors import Augment, LabelledImages, Normalizer
from benchmark.core.training import (
    TrainRecipe,
    make_optimizer,
    predict_logits,
    train_epoch,
    train_with_recipe,
)
from benchmark.models import create_model
from datasets import DataSource, load_dataset

CANDIDATES = [
    ("smallcnn", {}), ("smallcnn", {"widths": [32, 64, 128]}),
    ("resnet8", {}), ("resnet8", {"widths": [32, 64, 128]}), ("resnet20", {}),
    ("resnet9", {"width": 16}), ("resnet9", {"width": 32, "stem_stride": 2}),
]


def speed(name: str, kwargs: dict, data: LabelledImages, engine: Engine, norm: Normalizer,
          batch: int, steps: int) -> float:
    """Training images per second over ``steps`` steps after 20 warm-up steps."""
    torch.manual_seed(0)
    model = create_model(name, 10, 3, 32, **kwargs)
    optimizer = make_optimizer(model.parameters(), "sgd", 0.05, 5e-4, 0.9, True)
    generator = torch.Generator().manual_seed(0)
    part = data.select(torch.arange(batch * 20))
    train_epoch(model, [part], optimizer, engine, norm, batch, generator, Augment())
    part = data.select(torch.arange(batch * steps))
    start = time.perf_counter()
    train_epoch(model, [part], optimizer, engine, norm, batch, generator, Augment())
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--only", help="index of one candidate")
    parser.add_argument("--only-speed", action="store_true")
    parser.add_argument("--steps", type=int, default=200, help="timed steps for --only-speed")
    args = parser.parse_args()
    data = load_dataset("cifar10", DataSource(args.data_root))
    engine = Engine.for_device("cpu")
    norm = Normalizer(data.mean, data.std, engine.device)
    train = LabelledImages(data.train_x, data.train_y)
    chosen = [CANDIDATES[int(args.only)]] if args.only is not None else CANDIDATES
    for name, kwargs in chosen:
        record = {"model": name, "options": kwargs, "threads": torch.get_num_threads()}
        if args.only_speed:
            record["images_per_s"] = round(speed(name, kwargs, train, engine, norm, 256, args.steps), 1)
        else:
            recipe = TrainRecipe(epochs=args.epochs, lr=args.lr, label_smoothing=0.1)
            torch.manual_seed(0)
            model = create_model(name, 10, 3, 32, **kwargs)
            start = time.perf_counter()
            train_with_recipe(model, train, recipe, engine, norm, seed=0)
            seconds = time.perf_counter() - start
            logits = predict_logits(model, data.test_x, engine, norm)
            record |= {"epochs": args.epochs, "lr": args.lr, "train_s": round(seconds, 1),
                       "test_acc": round(float((logits.argmax(1) == data.test_y).float().mean()), 4)}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
