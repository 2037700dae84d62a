"""``python -m benchmark run``: the flags resolved into a plan (benchmark.harness.plan), then
the runner, then the results table.

Exit status: 0 when the run measured (or found stored) its cells; 1 when every cell it
measured failed (the first error printed, the failure rows stored) or ``--fail-fast``
stopped it; 2 for bad input, refused before any work.
"""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.arguments import run_args
from benchmark.cli.results_table import print_results
from benchmark.core.errors import RunStopped
from benchmark.harness.plan import resolve
from benchmark.harness.progress import Reporter
from benchmark.harness.runner import run_grid


def print_note(note: str) -> None:
    print(f"note: {note}", file=sys.stderr)


def command_run(args: argparse.Namespace) -> int:
    plan = resolve(run_args(args), on_note=print_note)
    if getattr(args, "dry_run", False):
        from benchmark.harness.dry_run import dry_run_lines

        print("\n".join(dry_run_lines(plan)))
        return 0
    reporter = Reporter.silent() if args.quiet else Reporter.rich()
    outcome = run_grid(plan, reporter)
    if not args.quiet:
        print_results(outcome.rows)
        print(f"results: {plan.results} ({outcome.summary()})")
    if outcome.all_failed:
        raise RunStopped(f"all {outcome.measured} cells failed (stored in {plan.results}); "
                         f"the first: {outcome.first_error()}")
    return 0
