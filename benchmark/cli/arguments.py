"""Flags shared by the commands, declared once, and the one way from parsed flags to RunArgs.

``run`` and ``tune`` select the same work (preset, methods, models, data sets, forget sets,
seeds, device, data, cache, ``--set``); both declare those flags through
:func:`add_selection_flags` and turn them into :class:`~benchmark.harness.spec.RunArgs`
through :func:`run_args`, which ``benchmark.harness.plan.resolve`` turns into the plan.
"""

from __future__ import annotations

import argparse

from benchmark.core.errors import UserError
from benchmark.core.seeding import check_seed
from benchmark.harness.spec import RunArgs

# argparse formats help with %: a literal percent sign is %%.
FORGET_HELP = ("forget set (repeatable; default: the preset's): 3 (one class), 0,2 (classes "
               "together), random:K[:SEED] (K classes drawn with SEED, 0 if left out), each (every "
               "class alone), subclass:NAME (one fine class of a data set with superclasses, e.g. "
               "cifar20), samples:P%%[:SEED] (a random P %% of the training samples)")


def csv_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


def seed_list(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``, each a valid seed (argparse's one-line error otherwise)."""
    try:
        seeds = [int(part) for part in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be whole numbers like 0,1,2, not {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds is empty; give seeds like 0,1,2")
    try:
        return [check_seed(seed) for seed in seeds]
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def one_seed(text: str) -> int:
    seeds = seed_list(text)
    if len(seeds) != 1:
        raise argparse.ArgumentTypeError(f"one seed, not {text!r}")
    return seeds[0]


def add_selection_flags(parser: argparse.ArgumentParser, methods_help: str) -> None:
    """The flags that say which work a run (or a tuning) covers, and where its data is."""
    parser.add_argument("--preset", default="default", help="shipped preset name or path to a .toml")
    parser.add_argument("--methods", type=csv_list, help=methods_help)
    parser.add_argument("--models", type=csv_list,
                        help="comma list, e.g. resnet18,allcnn or timm:<name> (default: the preset's)")
    parser.add_argument("--datasets", type=csv_list,
                        help="comma list, e.g. digits,cifar10 (default: the preset's)")
    parser.add_argument("--forget", action="append", help=FORGET_HELP)
    parser.add_argument("--seeds", type=seed_list,
                        help="comma list of training seeds, e.g. 0,1,2 (default: the preset's)")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the preset's, else auto)")
    parser.add_argument("--data-root", help="data folder or archive (default: $UNLEARN_DATA_ROOT)")
    parser.add_argument("--cache-dir", help="cache root: checkpoints/ and data/ inside it "
                        "(default: $UNLEARN_CACHE_DIR, else ~/.cache/unlearning-bench)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override: method.key=value, train.key=value, metrics.key=value, "
                        "data.key=value or engine.key=value (repeatable)")


def add_db_flag(parser: argparse.ArgumentParser, default: str | None, help: str) -> None:
    """``--db`` on every command that reads or writes a results database (``--results``, the
    name ``run`` and ``tune`` had first, stays as an alias)."""
    parser.add_argument("--db", "--results", dest="db", default=default, metavar="PATH.sqlite",
                        help=help)


def run_args(args: argparse.Namespace) -> RunArgs:
    """The RunArgs of parsed flags; flags a command does not declare count as not given."""
    given = vars(args)
    return RunArgs(
        preset=given.get("preset") or "default",
        methods=given.get("methods"), models=given.get("models"),
        datasets=given.get("datasets"), forget=given.get("forget"), seeds=given.get("seeds"),
        device=given.get("device"), data_root=given.get("data_root"),
        results=given.get("db"), cache_dir=given.get("cache_dir"),
        executor=given.get("executor"), ray_address=given.get("ray_address"),
        settings=tuple(given.get("settings") or ()), tuned=tuple(given.get("tuned") or ()),
        threads=given.get("threads"), rerun=bool(given.get("rerun")),
        save_models=bool(given.get("save_models")), fail_fast=bool(given.get("fail_fast")))
