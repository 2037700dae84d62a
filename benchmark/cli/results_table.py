"""The results table printed at the end of a run."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


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
        table.add_row(
            row["model"], row["dataset"], row["forget"], str(row["seed"]), row["method"],
            "yes" if row["zero_glance"] else "", _pct(m.get("forget_acc_test")),
            _pct(m.get("retain_acc_test")), _pct(m.get("test_acc")), f"{m['time_s']:.2f}",
            "-" if speedup is None else f"{speedup:.1f}x",
        )
    return table


def print_results(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    # Logs and pipes get a wide table instead of rich's 80-column fallback and its ellipses.
    console = console or Console(width=None if Console().is_terminal else 140)
    console.print(results_table(rows))
