"""``python -m benchmark report``: results database -> figures, tables and index.html.

Layout of ``out``::

    index.html                      every figure and table on one self-contained page
    figures/<name>.png|pdf          one pair per figure in reports.figures.FIGURES
    tables/summary.md|tex|csv       mean ± sd per model, data set, forget set and method;
                                    the .md and .tex end with the failed cells and warnings
    tables/paper_layout.md|tex|csv  the UNSIR paper's layout (Dr/Df before and after, time)
    tables/failed_cells.csv         only when some cell failed (its error in full)
    tables/warnings.csv             only when some row recorded a warning
    tables/default_vs_tuned.csv     only when some row ran with tuned settings (`run --tuned`)

Figures and statistics see only the rows whose cell succeeded; failed cells are listed.

A figure whose data is absent (e.g. relearn time not measured) is skipped with a note on
the page; a figure that fails for an unexpected reason is noted as failed (with a warning)
so that one bad figure never costs the whole report.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from reports.figures import FIGURES
from reports.frame import SkipPart, has_metric, load_results, usable
from reports.html import FigureEntry, render_index
from reports.outcomes import outcome_tables
from reports.population import population_table
from reports.style import apply_style, save_figure
from reports.summary import summary_table
from reports.tables import Table, paper_table, to_html, to_latex, to_markdown
from reports.timing import mixed_setups_note
from reports.tuned import tuned_table

log = logging.getLogger(__name__)


def build_report(db: str | Path, out: str | Path) -> list[Path]:
    """Write the whole report for results database ``db`` into folder ``out``.

    Returns the paths written. Raises ``UserError`` for a missing or empty database.
    """
    from benchmark.harness.paths import check_output_folder

    # Before reading the database: a bad --out (a file, the database itself) is one line.
    out = check_output_folder(out, "--out", {"results database": db})
    return write_report(load_results(db), str(db), out)


def write_report(frame: pd.DataFrame, source: str, out: Path) -> list[Path]:
    """The report for an already prepared ``frame`` (every row, failed ones included).

    ``source`` names where the rows came from on the page.
    """
    rows = usable(frame)
    figures_dir, tables_dir = out / "figures", out / "tables"
    out.mkdir(parents=True, exist_ok=True)
    apply_style()
    notes: list[str] = [note for note in (mixed_setups_note(rows),) if note]
    written: list[Path] = []
    entries = []
    for definition in FIGURES:
        if definition.only_with and not has_metric(rows, definition.only_with):
            _remove_stale(figures_dir, definition.name)
            continue
        entry = FigureEntry(definition.name, definition.title, definition.caption)
        if rows.empty:
            entry.skipped = "no cell succeeded (see Failed cells)"
        else:
            entry.skipped = _draw(definition, rows, notes, figures_dir, entry)
        if entry.png is not None:
            written += [entry.png, entry.pdf]
        else:
            _remove_stale(figures_dir, definition.name)  # an old file would contradict the page
        entries.append(entry)
    outcomes = outcome_sections(frame)
    table_sections = write_tables(frame, tables_dir, outcomes)
    written += [path for _, _, files in table_sections for path in files]
    index = out / "index.html"
    index.write_text(render_index(frame, source, out, entries, table_sections, notes, outcomes),
                     encoding="utf-8")
    written.append(index)
    return written


def _draw(definition, frame: pd.DataFrame, notes: list[str], folder: Path,
          entry: FigureEntry) -> str | None:
    """Draw and save one figure; returns the reason it was skipped, or None when drawn."""
    try:
        figure = definition.draw(frame, notes)
    except SkipPart as reason:
        notes.append(f"{definition.name}: skipped, {reason}.")
        return str(reason)
    except Exception as error:  # a bug or odd data: report it, keep the other figures
        message = f"failed ({type(error).__name__}: {error})"
        warnings.warn(f"report figure {definition.name} {message}", RuntimeWarning, stacklevel=2)
        log.exception("figure %s failed", definition.name)
        notes.append(f"{definition.name}: {message}.")
        return message
    if warning := weak_original_banner(frame):  # a PNG shown alone still carries it
        figure.text(0.5, 1.0, warning, ha="center", va="bottom", color="#c0392b", fontsize=9,
                    fontweight="bold", transform=figure.transFigure, wrap=True)
    entry.png, entry.pdf = save_figure(figure, folder, definition.name)
    return None


def weak_original_banner(frame: pd.DataFrame) -> str | None:
    """One line naming the groups whose original was barely above chance; None if none."""
    if "warnings" not in frame:
        return None
    weak = frame[[any(str(w).startswith("weak original") for w in ws) for ws in frame["warnings"]]]
    if weak.empty:
        return None
    groups = sorted({f"{r.model}/{r.dataset} seed {r.seed}" for r in weak.itertuples()})
    return (f"Warning: weak original (test accuracy below 3x chance) in {', '.join(groups[:4])}"
            f"{' and more' if len(groups) > 4 else ''}: every comparison here is moot")


def _remove_stale(folder: Path, name: str) -> None:
    for suffix in (".png", ".pdf"):
        (folder / f"{name}{suffix}").unlink(missing_ok=True)


def outcome_sections(frame: pd.DataFrame) -> list[Table]:
    """Failed cells, warnings and default-vs-tuned: the sections that follow the summary."""
    return outcome_tables(frame) + [t for t in (tuned_table(frame), population_table(frame))
                                    if t is not None]


def write_tables(frame: pd.DataFrame, folder: Path,
                 outcomes: Sequence[Table]) -> list[tuple[str, str, list[Path]]]:
    """The summary (followed by ``outcomes``) and paper-layout tables of ``frame`` in ``folder``.

    Returns (title, HTML, files written) per table, for the index page. Figures are not
    drawn here, so a test can check committed tables against their database cheaply.
    """
    # Failed cells, warnings and default-vs-tuned follow the summary, each only when it has lines.
    sections = []
    for table, after in ((summary_table(frame), outcomes), (paper_table(frame), [])):
        files = write_table(table, folder, after)
        title = "Summary table" if table.name == "summary" else "Paper layout table"
        sections.append((title, to_html(table), files))
    return sections


def write_table(table: Table, folder: Path, sections: Sequence[Table] = ()) -> list[Path]:
    """``<name>.md``, ``<name>.tex`` and ``<name>.csv`` in ``folder``.

    ``sections`` follow the table in its .md and .tex under their titles, and each gets a
    CSV of its own (a CSV holds one table).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{table.name}.{ext}" for ext in ("md", "tex", "csv")]
    markdown = to_markdown(table) + "".join(f"\n## {s.title}\n\n{to_markdown(s)}"
                                            for s in sections)
    paths[0].write_text(markdown, encoding="utf-8")
    paths[1].write_text("".join(to_latex(t) for t in (table, *sections)), encoding="utf-8")
    for part in (table, *sections):
        path = folder / f"{part.name}.csv"
        part.numeric.to_csv(path, index=False, float_format="%.6g")
        if part is not table:
            paths.append(path)
    return paths
