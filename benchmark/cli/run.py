"""``python -m benchmark run``: the flags resolved into a plan (benchmark.harness.plan), then
the runner, then the results table."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import run_args
from benchmark.cli.results_table import print_results
from benchmark.harness.plan import resolve
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run_grid


def print_note(note: str) -> None:
    print(f"note: {note}", file=sys.stderr)


def command_run(args: argparse.Namespace) -> int:
    plan = resolve(run_args(args), on_note=print_note)
    reporter = Reporter.silent() if args.quiet else Reporter.rich()
    outcome = run_grid(plan, reporter)
    if not args.quiet:
        print_results(outcome.rows)
        print(f"results: {plan.results} ({outcome.summary()})")
    return 0
