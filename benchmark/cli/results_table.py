"""The results table printed at the end of a run, with failures and warnings under it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from benchmark.cli.fit import print_table
from benchmark.harness.schema import STATUS_FAILED, STATUS_SKIPPED


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


TIME_NOTE = ("time s: the method's unlearn call alone, as timed by the harness (the progress "
             "line's time of a phase also counts copying the model and warming up)")


def results_table(rows: list[dict[str, Any]]) -> Table:
    """One line per row: accuracies in %, unlearning time, speedup over retraining.

    A model or data set shared by every row goes into the title instead of a column, so the
    table fits an 80-column terminal.
    """
    shared = {key: {row[key] for row in rows} for key in ("model", "dataset", "seed")}
    one = {key: next(iter(values)) for key, values in shared.items() if len(values) == 1}
    where = f"{one['model']} on {one['dataset']}, " if "model" in one and "dataset" in one else ""
    where += f"seed {one['seed']}, " if "seed" in one else ""
    table = Table(title=f"Unlearning results ({where}test split; accuracies in %)",
                  show_lines=False, show_edge=False, collapse_padding=True)
    keep = {key: key not in one or not where for key in shared}  # shared: in the title
    keep["seed"] = "seed" not in one
    columns = [("model", "left")] if keep["model"] else []
    columns += [("data", "left")] if keep["dataset"] else []
    columns += [("forget", "left")] + ([("seed", "right")] if keep["seed"] else [])
    # Two-line headers: the table fits 80 columns with every number and name whole.
    columns += [("method", "left"), ("zero-\nglance", "center"), ("forget\nacc", "right"),
                ("retain\nacc", "right"), ("test\nacc", "right"), ("time\ns", "right"),
                ("speed-\nup", "right")]
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in rows:
        m = row["metrics"]
        speedup = m.get("speedup_vs_retrain")
        status = row.get("status")
        tuned = " (tuned)" if (row.get("spec") or {}).get("tuned_from") else ""
        method = row["method"] + tuned + (" [red](failed)[/red]" if status == STATUS_FAILED
                                  else " [dim](skipped)[/dim]" if status == STATUS_SKIPPED
                                  else " [yellow](!)[/yellow]" if row.get("warnings") else "")
        table.add_row(
            *([row["model"]] if keep["model"] else []),
            *([row["dataset"]] if keep["dataset"] else []),
            row["forget"], *([str(row["seed"])] if keep["seed"] else []), method,
            "yes" if row["zero_glance"] else "", _pct(m.get("forget_acc_test")),
            _pct(m.get("retain_acc_test")), _pct(m.get("test_acc")),
            _seconds(m.get("time_s", row["timings"].get("unlearn_s"))),
            "-" if speedup is None else f"{speedup:.1f}x",
        )
    return table


def notes(rows: list[dict[str, Any]]) -> list[str]:
    """One line per failed row and per warning, naming the cell."""
    lines = []
    for row in rows:
        cell = f"{row['model']}/{row['dataset']} forget {row['forget']} seed {row['seed']} {row['method']}"
        if row.get("status") in (STATUS_FAILED, STATUS_SKIPPED):
            lines.append(f"{row['status']}: {cell}: {row.get('error')}")
        lines += [f"warning: {cell}: {text}" for text in row.get("warnings") or []]
    return list(dict.fromkeys(lines))


def print_results(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    """One table a (model, data set) (fitted to a terminal, whole in a pipe:
    benchmark.cli.fit), then one line per failure and warning, never wrapped off a terminal."""
    pairs = list(dict.fromkeys((row["model"], row["dataset"]) for row in rows))
    for pair in pairs:  # one table a (model, data set): it fits a narrow terminal
        console = print_table(results_table([r for r in rows if (r["model"], r["dataset"]) == pair]),
                              console)
    if not pairs:
        console = print_table(results_table(rows), console)
    for line in [TIME_NOTE, *notes(rows)]:
        console.print(line, highlight=False, markup=False, soft_wrap=not console.is_terminal)
