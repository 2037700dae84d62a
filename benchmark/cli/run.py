"""``python -m benchmark run``: a preset, then CLI flags on top, then the runner."""

from __future__ import annotations

import argparse

from benchmark.cli.results_table import print_results
from benchmark.core.config import apply_overrides, parse_assignments
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run
from benchmark.harness.spec import RunSpec, read_preset, spec_from_preset


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The preset's RunSpec with every given flag applied."""
    spec = spec_from_preset(read_preset(args.preset), args.preset)
    for name in ("methods", "models", "datasets", "forget", "seeds", "device", "data_root",
                 "results", "cache_dir"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(spec, name, value)
    spec.rerun = bool(getattr(args, "rerun", False))
    spec.save_models = spec.save_models or bool(getattr(args, "save_models", False))
    for section, values in parse_assignments(getattr(args, "settings", []) or []).items():
        if section == "train":
            spec.train = apply_overrides(spec.train, values, "train")
            spec.train_by_model = {k: {**v, **values} for k, v in spec.train_by_model.items()}
            spec.train_by_dataset = {k: {**v, **values} for k, v in spec.train_by_dataset.items()}
        elif section == "metrics":
            spec.metrics = apply_overrides(spec.metrics, values, "metrics")
        elif section == "data":
            spec.data = apply_overrides(spec.data, values, "data")
        else:
            spec.method_settings.setdefault(section, {}).update(values)
    return spec


def command_run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    reporter = Reporter.silent() if args.quiet else Reporter.rich()
    rows = run(spec, reporter)
    if not args.quiet:
        print_results(rows)
        print(f"results: {spec.results} ({len(rows)} rows this run)")
    return 0
