"""``python -m benchmark check``: evaluate a claim set and print one line per claim."""

from __future__ import annotations

import argparse

import pandas as pd
from rich.table import Table

from benchmark.claims import NO_DATA, PASS, ClaimResult, evaluate_claims, load_claims, results_for
from benchmark.claims.fit import fit_claim
from benchmark.claims.results import plan_for_run
from benchmark.cli.fit import print_table
from benchmark.harness.plan import Plan
from benchmark.harness.schema import STATUS_FAILED


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def claims_table(results: list[ClaimResult], title: str) -> Table:
    """Claim, what was measured (value, n rows, min..max), threshold and verdict."""
    table = Table(title=title, show_lines=False)
    for column, justify in (("claim", "left"), ("quantity", "left"), ("measured", "right"),
                            ("threshold", "right"), ("verdict", "center")):
        table.add_column(column, justify=justify)
    for result in results:
        claim = result.claim
        if result.verdict == NO_DATA:
            measured = "-"  # the reason is printed under the table
        else:
            spread = f", {_number(result.low)}..{_number(result.high)}" if result.n > 1 else ""
            measured = f"{_number(result.measured)} (n={result.n}{spread})"
        style = {"PASS": "green", "FAIL": "red"}.get(result.verdict, "yellow")
        name = claim.name + (f"\n[dim]{claim.note}[/dim]" if claim.note else "")
        table.add_row(name, claim.quantity(), measured, claim.threshold(),
                      f"[{style}]{result.verdict}[/{style}]")
    return table


def failed_cells(frame: pd.DataFrame) -> list[str]:
    """One line per stored failure row: its cell and its error."""
    if "status" not in frame:
        return []
    failed = frame[frame["status"] == STATUS_FAILED]
    return [f"failed cell: {r.model}/{r.dataset} forget {r.forget} seed {r.seed} {r.method}: "
            f"{r.error}" for r in failed.itertuples()]


def fit_table(claims: list, frame: pd.DataFrame) -> Table:
    """Per claim: its value on each seed, its threshold, and the threshold fitted for a new
    seed (benchmark.claims.fit); "tighter than the fit" marks a claim likely to fail on one."""
    table = Table(title="Thresholds fitted to predict a new seed (one-sided 95 % prediction interval)")
    for column, justify in (("claim", "left"), ("per seed", "left"), ("threshold", "right"),
                            ("fitted", "right"), ("", "left")):
        table.add_column(column, justify=justify)
    for claim in claims:
        fit = fit_claim(claim, frame)
        values = ", ".join(f"{seed}: {_number(v)}" for seed, v in fit.values.items()) or "-"
        table.add_row(claim.name, values, claim.threshold(),
                      "-" if fit.threshold is None else f"{claim.op} {fit.threshold:g}",
                      "tighter than the fit" if fit.stricter_than_fit else fit.why)
    return table


def run_summary(source: str, plan: Plan) -> str:
    """What ``check`` is about to run and where it stores, said before it trains anything."""
    cells = len(plan.datasets) * len(plan.models) * len(plan.seeds)
    return (f"check: claims {source} run preset {plan.preset!r} ({', '.join(plan.methods)}; "
            f"{', '.join(plan.models)} on {', '.join(plan.datasets)}; forget "
            f"{' and '.join(plan.forget)}; seeds {', '.join(map(str, plan.seeds))}: {cells} "
            f"group{'' if cells == 1 else 's'} of an original, its gold retrains and each "
            f"method) into {plan.results}; "
            "rows stored there are reused (--rerun re-measures; --db checks a database without "
            "running; --dry-run lists the cells)")


def command_check(args: argparse.Namespace) -> int:
    """Exit 0 when every claim passes; 1 when any fails or has no data."""
    claimset = load_claims(args.claims)
    if not getattr(args, "db", None) and claimset.run is not None:
        plan = plan_for_run(claimset, getattr(args, "device", None),
                            getattr(args, "data_root", None), bool(getattr(args, "rerun", False)))
        if getattr(args, "dry_run", False):
            from benchmark.harness.dry_run import dry_run_lines

            print("\n".join([run_summary(claimset.source, plan), *dry_run_lines(plan)]))
            return 0
        print(run_summary(claimset.source, plan))
    elif getattr(args, "dry_run", False):
        print(f"dry run: claims {claimset.source} are checked against {args.db}; nothing runs")
        return 0
    frame = results_for(claimset, getattr(args, "db", None), getattr(args, "device", None),
                        getattr(args, "data_root", None), bool(getattr(args, "quiet", False)),
                        bool(getattr(args, "rerun", False)))
    results = evaluate_claims(claimset.claims, frame)
    console = print_table(claims_table(results, f"Claims: {claimset.source}"))
    for result in results:  # why a claim has no data, or which rows it left out
        if result.why:
            label = "no data" if result.verdict == NO_DATA else "note"
            console.print(f"{label} ({result.claim.name}): {result.why}", highlight=False)
    for line in failed_cells(frame):  # failures are never silently counted as "no data"
        console.print(line, highlight=False, markup=False)
    if getattr(args, "fit", False):
        print_table(fit_table(claimset.claims, frame), console)
    passed = sum(r.verdict == PASS for r in results)
    failed = sum(r.verdict == "FAIL" for r in results)
    missing = sum(r.verdict == NO_DATA for r in results)
    console.print(f"{passed}/{len(results)} claims pass, {failed} fail, {missing} without data",
                  highlight=False)
    return 0 if passed == len(results) else 1
