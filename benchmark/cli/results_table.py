"""The results table printed at the end of a run, with failures and warnings under it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from benchmark.harness.schema import STATUS_FAILED, STATUS_SKIPPED


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def results_table(rows: list[dict[str, Any]]) -> Table:
    """One line per row: accuracies in %, unlearning time, speedup over retraining."""
    table = Table(title="Unlearning results (test split; accuracies in %)", show_lines=False)
    for column, justify in (("model", "left"), ("data", "left"), ("forget", "left"),
                            ("seed", "right"), ("method", "left"), ("zero-glance", "center"),
                            ("forget acc", "right"), ("retain acc", "right"), ("test acc", "right"),
                            ("time s", "right"), ("speedup", "right")):
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
            row["model"], row["dataset"], row["forget"], str(row["seed"]), method,
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
    # Logs and pipes get a wide table instead of rich's 80-column fallback and its ellipses.
    console = console or Console(width=None if Console().is_terminal else 140)
    console.print(results_table(rows))
    for line in notes(rows):
        console.print(line, highlight=False, markup=False)
