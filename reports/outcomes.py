"""Cells that failed and rows that warned: listed on their own, never averaged.

The runner stores a cell whose method raised as a row with ``status = "failed"``, its
``error`` and no metrics; any row may carry ``warnings``. Both lists go into index.html and,
as sections after the summary table, into ``tables/summary.md`` and ``summary.tex``; each
also gets its own CSV. Old databases have neither: the lists are then simply absent.
"""

from __future__ import annotations

import pandas as pd

from reports.configs import described, settings_text
from reports.frame import CELL_KEYS, failed, sort_methods
from reports.tables import Table

CELL_HEADER = ["Model", "Data set", "Forget", "Seed", "Method"]
MAX_TEXT = 300  # characters of an error or warning in the text tables (the CSV keeps all)


def _first_line(text: str) -> str:
    """The message's first line, shortened: a traceback would swamp the table."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "…"


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return sort_methods(frame.sort_values(["model", "dataset", "n_forget", "forget", "seed"]))


def _cell(row: pd.Series) -> list[str]:
    return [str(row["model"]), str(row["dataset"]), str(row["forget"]), str(row["seed"]),
            str(row["method_label"])]


def failed_cells_table(frame: pd.DataFrame) -> Table | None:
    """One line per failed cell (model, data set, forget set, seed, method, error); None if none."""
    rows = _ordered(failed(frame))
    if rows.empty:
        return None
    lines, records = [], []
    for _, row in rows.iterrows():
        error = row["error"] or "(no error message stored)"
        lines.append(_cell(row) + [_first_line(error)])
        records.append({**{k: row[k] for k in CELL_KEYS}, "method": row["method"],
                        "status": row["status"], "error": error})
    caption = (f"{len(rows)} failed cell(s): the method raised, so they have no metrics and are "
               "left out of every mean, interval, test and figure.")
    return Table("failed_cells", caption, CELL_HEADER + ["Error"], lines,
                 pd.DataFrame(records), title="Failed cells")


def warnings_table(frame: pd.DataFrame) -> Table | None:
    """One line per warning a row recorded (its cell, then the warning); None if none."""
    rows = _ordered(frame[frame["warnings"].map(len) > 0])
    if rows.empty:
        return None
    lines, records = [], []
    for _, row in rows.iterrows():
        for warning in row["warnings"]:
            lines.append(_cell(row) + [_first_line(warning)])
            records.append({**{k: row[k] for k in CELL_KEYS}, "method": row["method"],
                            "status": row["status"], "warning": warning})
    caption = ("Warnings recorded while these cells ran. Their metrics are kept (a failed cell's "
               "are not); check that each warning does not invalidate them.")
    return Table("warnings", caption, CELL_HEADER + ["Warning"], lines, pd.DataFrame(records),
                 title="Warnings")


def configurations_table(frame: pd.DataFrame) -> Table | None:
    """What each ``[A]``, ``[B]`` data set label means (reports.configs); None when no data
    set holds more than one configuration."""
    items = described(frame)
    if not items:
        return None
    lines = [[model, label, settings_text(settings)] for model, label, settings in items]
    records = [{"model": m, "dataset": d, **{k: str(v) for k, v in s.items()}}
               for m, d, s in items]
    caption = ("These rows were run with different settings, so they are reported apart and "
               "never averaged together: each letter is one configuration, described by the "
               "settings in which they differ (unset: the default).")
    return Table("configurations", caption, ["Model", "Data set", "Settings"], lines,
                 pd.DataFrame(records), title="Configurations")


def outcome_tables(frame: pd.DataFrame) -> list[Table]:
    """The configurations, failed-cells and warnings tables that have any lines, in order."""
    return [t for t in (configurations_table(frame), failed_cells_table(frame),
                        warnings_table(frame)) if t is not None]
