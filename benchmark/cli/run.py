"""``python -m benchmark run``: a preset, then CLI flags (``--tuned`` files, then ``--set``) on
top, then the runner."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.results_table import print_results
from benchmark.core.config import parse_assignments
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run_grid
from benchmark.harness.settings import (
    TEXT_KEYS,
    apply_section,
    read_preset,
    spec_from_preset,
    unique,
)
from benchmark.harness.spec import RunSpec


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The preset's RunSpec with every given flag applied (flags win over the preset)."""
    spec = spec_from_preset(read_preset(args.preset), args.preset)
    for name in ("methods", "models", "datasets", "forget", "seeds"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(spec, name, unique(value))
    for name in TEXT_KEYS:
        value = getattr(args, name, None)
        if value is not None:
            setattr(spec, name, value)
    tuned = getattr(args, "tuned", None)
    if tuned:  # over the preset's method settings, under --set
        from benchmark.tuning.files import apply_tuned

        for note in apply_tuned(spec, unique(tuned)):
            print(f"note: {note}", file=sys.stderr)
    spec.rerun = bool(getattr(args, "rerun", False))
    spec.save_models = spec.save_models or bool(getattr(args, "save_models", False))
    for section, values in parse_assignments(getattr(args, "settings", []) or []).items():
        apply_section(spec, section, values, from_flags=True)
    threads = getattr(args, "threads", None)
    if threads is not None:
        apply_section(spec, "engine", {"threads": threads}, from_flags=True)
    return spec


def command_run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    reporter = Reporter.silent() if args.quiet else Reporter.rich()
    outcome = run_grid(spec, reporter)
    if not args.quiet:
        print_results(outcome.rows)
        print(f"results: {spec.results} ({outcome.summary()})")
    return 0
