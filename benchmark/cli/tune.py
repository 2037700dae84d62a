"""``python -m benchmark tune``: the same search budget for every method, then one tuned file each.

The preset and the flags resolve into a plan exactly as for ``run`` (cli/arguments.py,
benchmark.harness.plan); the tuner
(benchmark.tuning.study) then runs one study per (method, model, data set) on a validation
split of the training data and writes ``OUT/<preset>/<method>-<model>-<dataset>.toml``.
"""

from __future__ import annotations

import argparse
import time

from benchmark.cli.arguments import add_db_flag, add_selection_flags, one_seed, run_args


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, not {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_tune_parser(tune: argparse.ArgumentParser) -> None:
    """The flags of ``tune``: ``run``'s selection flags plus the budget and the split."""
    from benchmark.harness.tuned_files import DEFAULT_OUT
    from benchmark.tuning.study import DEFAULT_RESULTS

    add_selection_flags(tune, "comma list, or all (default: the preset's; retrain, the gold "
                        "reference, is never tuned)")
    tune.add_argument("--trials", type=_count, default=20, help="trials per method (the same for every method)")
    tune.add_argument("--seed", type=one_seed, default=0, help="the sampler's seed, the same for every method (default: 0)")
    tune.add_argument("--val-fraction", type=_fraction, default=0.1,
                      help="share of each class's training samples held out for validation")
    tune.add_argument("--val-seed", type=one_seed, default=0, help="seed of the validation split (default: 0)")
    tune.add_argument("--out", default=DEFAULT_OUT, help="folder for the tuned files")
    add_db_flag(tune, default=DEFAULT_RESULTS, help="SQLite database of the trials' rows")
    tune.add_argument("--quiet", action="store_true", help="no line per trial")
    tune.add_argument("--dry-run", action="store_true",
                      help="print the estimated cost of every method's trials and stop (trains nothing)")


def command_tune(args: argparse.Namespace) -> int:
    from benchmark.cli.output_checks import check_tune_out
    from benchmark.cli.run import print_note
    from benchmark.harness.plan import resolve
    from benchmark.tuning.study import TuneOptions, tune
    from datasets.validation import ValidationSplit

    plan = resolve(run_args(args), on_note=print_note)
    check_tune_out(args.out, plan)  # before any training: a bad --out is one line, not the last one
    options = TuneOptions(trials=args.trials, seed=args.seed, out=args.out,
                          split=ValidationSplit(args.val_fraction, args.val_seed))
    started = time.perf_counter()
    written = tune(plan, options, log=(lambda _: None) if args.quiet else print, dry_run=args.dry_run)
    if args.dry_run:
        return 0
    folders = ", ".join(sorted({str(path.parent) for path in written}))
    print(f"wrote {len(written)} tuned file(s) in {time.perf_counter() - started:.0f} s; apply "
          f"with: python -m benchmark run --tuned {folders}")
    return 0
