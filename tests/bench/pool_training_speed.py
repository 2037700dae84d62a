"""A population's pool: N trainings one after the other against one stacked training of the
same N members, in one process, as a ratio.

The model, data and recipe of a preset's first model and data set (``--preset``, default: the
default preset, smallcnn on digits, 20 epochs of SGD with Nesterov momentum, one-cycle, batch
64, no augmentation; ``--set`` and ``--data-root`` as for ``run``, the data capped by its
``data.train_per_class``), on the CPU in fp32. Each member is
initialised and seeded as the harness does it (the model factory of its seed, the training
loop seeded by it). Each round, interleaved so that a change in the machine's load hits
every variant alike:

* ``sequential``: the N members one after the other with ``train_with_recipe``, on one
  thread: what the harness runs without stacking (a model this small gets one thread,
  benchmark.harness.threads, because a second did not pay);
* ``stacked@1``: the N members together with ``train_stacked`` (benchmark.core.
  stacked_training), on one thread: the same arithmetic budget;
* ``stacked@T``: the same on T threads (``--threads``, default: the cores this process may
  use; left out at 1): what the harness runs on a quiet machine, since it gives a stack the
  threads of a model of the stack's size;
* with ``--vmap``, ``vmap@1``: the N members through ``torch.func.stack_module_state`` +
  ``functional_call`` + ``vmap`` on one thread (the approach benchmark.core.packed explains
  it does not take);
* with ``--split P``, ``split@P``: P processes at once, each stacking every P-th member on one
  thread (wall time of the group, the processes' start-up included): the second core through
  processes instead of a second intra-op thread.

Prints the hardware (CPU model, cores this process may use), torch's version, the load
average before and after (a loaded machine makes every number here unreliable: run it
alone), each round's seconds, and the median ratio ``sequential / variant`` with its range
over the rounds. It checks, too, that the stacked members' test logits stay within float
rounding of the sequential ones (the largest difference relative to the logits' scale).

    python -m tests.bench.pool_training_speed [--members 16] [--rounds 3] [--threads 2] [--vmap]
        [--split 2]
        [--preset population-cifar10 --data-root DATA] [--set train.epochs=2]

``--epochs 2`` shortens a check that it runs; the numbers in docs/BENCHMARKS.md use the
preset's 20.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

from benchmark.core.engine import Engine, cpu_model
from benchmark.core.seeding import MODEL_INIT_STRIDE, derive_seed
from benchmark.core.stacked_training import StackMember, global_rng_state, train_stacked
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import (
    TrainRecipe,
    lr_schedule,
    make_optimizer,
    predict_logits,
    train_with_recipe,
)
from benchmark.harness.grid import limit_per_class
from benchmark.harness.plan import resolve
from benchmark.harness.population import member_seeds
from benchmark.harness.spec import RunArgs
from benchmark.models import create_model
from datasets import DataSource, load_dataset

Model = tuple[str, dict]  # registry name and the preset's model_kwargs for it


def members(seeds: list[int], data, model: Model) -> list[StackMember]:
    """Fresh members as the harness makes originals: the factory's seed, then build."""
    name, kwargs = model
    out = []
    for seed in seeds:
        torch.manual_seed(derive_seed(seed, 0, MODEL_INIT_STRIDE))
        built = create_model(name, data.num_classes, data.channels, data.image_size, **kwargs)
        out.append(StackMember(built, seed, global_rng_state(torch.device("cpu"))))
    return out


def sequential(seeds, data, model, recipe, engine, normalizer) -> list[nn.Module]:
    trained = []
    for member in members(seeds, data, model):
        if member.rng_state is not None:
            torch.set_rng_state(member.rng_state)
        train_with_recipe(member.model, LabelledImages(data.train_x, data.train_y), recipe,
                          engine, normalizer, member.seed)
        trained.append(member.model)
    return trained


def stacked(seeds, data, model, recipe, engine, normalizer) -> list[nn.Module]:
    group = members(seeds, data, model)
    train_stacked(group, LabelledImages(data.train_x, data.train_y), recipe, engine, normalizer)
    return [m.model for m in group]


def vmapped(seeds, data, model, recipe, engine, normalizer) -> list[nn.Module]:
    """The torch.func route: stacked parameters and buffers, one vmapped loss a step."""
    from torch.func import functional_call, stack_module_state, vmap

    group = [m.model.train() for m in members(seeds, data, model)]
    params, buffers = stack_module_state(group)
    base = copy.deepcopy(group[0]).to("meta")
    optimizer = make_optimizer(list(params.values()), recipe.optimizer, recipe.lr,
                               recipe.weight_decay, recipe.momentum, recipe.nesterov)
    scheduler, _ = lr_schedule(optimizer, recipe, -(-len(data.train_y) // recipe.batch_size))
    after_step = scheduler.step if scheduler is not None else (lambda: None)
    orders = [torch.Generator().manual_seed(s) for s in seeds]

    def loss(p, b, x, y):
        return nn.functional.cross_entropy(functional_call(base, (p, b), (x,)), y)

    for _ in range(recipe.epochs):
        order = torch.stack([torch.randperm(len(data.train_y), generator=g) for g in orders])
        for start in range(0, order.shape[1], recipe.batch_size):
            index = order[:, start:start + recipe.batch_size]
            losses = vmap(loss)(params, buffers, normalizer(data.train_x[index]),
                                data.train_y[index])
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            after_step()
    return group  # weights not copied back: only the time is compared


def timed(threads: int, fn, *args) -> tuple[float, list[nn.Module]]:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    models = fn(*args)
    return time.perf_counter() - start, models


def logits_gap(alone: list[nn.Module], together: list[nn.Module], data, engine,
               normalizer) -> float:
    worst = 0.0
    for a, b in zip(alone, together, strict=True):
        x = predict_logits(a, data.test_x, engine, normalizer)
        y = predict_logits(b, data.test_x, engine, normalizer)
        worst = max(worst, float((x - y).abs().max() / x.abs().max()))
    return worst


def split(parts: int, argv: list[str]):  # noqa: ANN201 - a variant of the round
    """The variant that trains the members in ``parts`` processes at once (``--part``)."""
    def run(seeds, data, model, recipe, engine, normalizer) -> list[nn.Module]:
        command = [sys.executable, "-m", "tests.bench.pool_training_speed", *argv]
        processes = [subprocess.Popen([*command, "--part", f"{index}/{parts}"],
                                      env=os.environ | {"OMP_NUM_THREADS": "1"})
                     for index in range(parts)]
        if any(process.wait() for process in processes):
            raise RuntimeError("a part of the split variant failed")
        return []  # trained in the other processes: only the time is compared
    return run


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=usable_cores())
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--vmap", action="store_true", help="time the torch.func route too")
    parser.add_argument("--preset", default="default", help="a preset's first model and data set")
    parser.add_argument("--set", action="append", default=[], dest="settings",
                        help="a run's --set assignment (train.epochs=2, data.train_per_class=500)")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--split", type=int, default=0, help="also P processes of a part-stack each")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)  # i/P: one split process
    args = parser.parse_args()

    plan = resolve(RunArgs(preset=args.preset, device="cpu", settings=args.settings,
                           data_root=args.data_root))
    name, dataset = plan.models[0], plan.datasets[0]
    model: Model = (name, dict(plan.model_kwargs.get(name, {})))
    recipe: TrainRecipe = plan.recipe(name, dataset)
    if args.epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    data = limit_per_class(load_dataset(dataset, DataSource(plan.data_root_resolved)), plan.data)
    engine = Engine.for_device("cpu", "fp32", False)
    normalizer = Normalizer(data.mean, data.std, engine.device)
    seeds = member_seeds(0, "original", args.members)
    if args.part:  # one process of the split variant: its members, stacked, one thread
        index, parts = (int(v) for v in args.part.split("/"))
        timed(1, stacked, seeds[index::parts], data, model, recipe, engine, normalizer)
        return
    print(json.dumps({
        "cpu": cpu_model(), "cores_usable": usable_cores(), "threads": args.threads,
        "machine": platform.machine(),
        "torch": torch.__version__, "model": model, "dataset": dataset, "preset": args.preset,
        "train_images": len(data.train_y), "members": args.members,
        "recipe": dataclasses.asdict(recipe), "load_average_before": os.getloadavg()}))
    variants = [("sequential", 1, sequential), ("stacked@1", 1, stacked)]
    if args.threads > 1:
        variants.append((f"stacked@{args.threads}", args.threads, stacked))
    if args.vmap:
        variants.append(("vmap@1", 1, vmapped))
    if args.split > 1:
        forwarded = [a for a in sys.argv[1:] if a != "--vmap"]
        variants.append((f"split@{args.split}", 1, split(args.split, forwarded)))
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    gap = None
    for round_ in range(args.rounds):
        trained = {}
        for name, threads, fn in variants:
            took, trained[name] = timed(threads, fn, seeds, data, model, recipe, engine,
                                        normalizer)
            seconds[name].append(took)
        if gap is None:
            torch.set_num_threads(1)
            gap = logits_gap(trained["sequential"], trained["stacked@1"], data, engine,
                             normalizer)
        print(json.dumps({"round": round_, **{k: round(v[-1], 2) for k, v in seconds.items()}}),
              flush=True)
    base = seconds["sequential"]
    print(f"\n{args.members} members x {recipe.epochs} epochs, {args.rounds} rounds, "
          f"{cpu_model()}, torch {torch.__version__}, load average after "
          f"{os.getloadavg()[0]:.2f}; stacked vs sequential test logits differ by at most "
          f"{gap:.1e} of their scale\n")
    print("| variant | threads | seconds, median (min-max) | s a member | sequential / it, median (min-max) |")
    print("| --- | --- | --- | --- | --- |")
    for name, threads, _ in variants:
        times = seconds[name]
        ratios = [b / t for b, t in zip(base, times, strict=True)]
        print(f"| {name} | {threads} | {statistics.median(times):.1f} ({min(times):.1f}-"
              f"{max(times):.1f}) | {statistics.median(times) / args.members:.2f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
