"""``python -m benchmark leaderboard``: the boards of reports.leaderboard as files.

Layout of ``out``::

    leaderboard.md                  one ranked table a board, the rule, the columns
    leaderboard.html                the same, self-contained (figures embedded as PNG data)
    leaderboard.csv                 every number of every table (mean, interval, n)
    figures/tradeoff-<board>.png|pdf  the trade-off figure of each board (reports.fig_tradeoff)

Headers, units, scales and directions come from benchmark.metrics.registry.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from benchmark.core.roles import GOLD_METHOD
from benchmark.metrics.registry import Metric, metric
from reports.fig_tradeoff import tradeoff_figure
from reports.frame import load_results
from reports.html import CSS
from reports.leaderboard import (
    DEFAULT,
    REFERENCE,
    RETAIN,
    SCORE,
    SCORE_TEXT,
    TUNED,
    Board,
    Entry,
    Stat,
    boards,
)
from reports.stats import MISSING, mean_ci
from reports.style import apply_style, save_figure
from reports.tables import Table, to_html, to_markdown
from reports.timing import POOLED_CAPTION, POOLED_MARK
from reports.tuned import tuning_cost

RULE = ("Each method is ranked once per board: at its tuned settings where the results hold "
        "them (chosen by `tune` on a validation split, one budget for every method), else at "
        "its defaults; by the mean over training seeds of the score, higher first, equal scores "
        "by mean unlearning time, faster first. Score: " + SCORE_TEXT + "; the forget gap is "
        "measured on the test samples of the forgotten classes or sub-class, on the forgotten "
        "training samples in the random-samples scenario (no test sample is forgotten there); "
        "a failed cell scores 0. The method's other entry (its defaults, when it was ranked "
        "tuned) is listed beside it without a rank: choosing between default and tuned by this "
        "test-split score would select on test data. Ranks whose intervals overlap are not "
        "told apart by these seeds.")
ARROWS = {True: " ↑", False: " ↓", None: ""}
GAP = "gap"


def _direction(m: Metric) -> str:
    return ARROWS[m.higher_is_better]


def header(board: Board) -> list[str]:
    """The columns of a board's table; labels and directions from the metric registry."""
    forget, retain = board.forget_metric, metric(RETAIN)
    return ["Rank", "Method", "Settings", "Seeds", "Score (ToW) ↑",
            f"{forget.label} − gold (pp) →0", f"{retain.label} − gold (pp) →0",
            *(m.header + _direction(m) for m in board.shown)]


def signed(stat: Stat) -> str:
    """A gap in percentage points with its interval: "+2.3 ± 1.1", "-0.4" (n = 1)."""
    if stat.n == 0 or math.isnan(stat.mean):
        return MISSING
    text = f"{100 * stat.mean:+.1f}"
    return text if math.isnan(stat.half) else f"{text} ± {100 * stat.half:.1f}"


def _shown(entry: Entry, m: Metric) -> str:
    stat = entry.stats.get(m.name)
    if stat is None or stat.n == 0:
        return MISSING
    mark = POOLED_MARK if m.name in ("time_s", "speedup_vs_retrain") and entry.timing_setups > 1 \
        else ""
    return mean_ci(pd.Series(stat.values), m.scale, m.fmt) + mark


def _line(board: Board, entry: Entry) -> list[str]:
    gold = entry.method == GOLD_METHOD
    rank = "gold" if gold else "–" if entry.settings == REFERENCE else \
        (str(entry.rank) if entry.rank else "")
    seeds = f"n={entry.seeds}" + (f" ({entry.failed} failed)" if entry.failed else "")
    score = entry.stats[SCORE]
    score_text = MISSING if score.n == 0 else mean_ci(pd.Series(score.values), 1.0, ".3f")
    if gold:  # its gaps and score are what they are by definition: its own accuracies instead
        gaps = [f"0 ({mean_ci(pd.Series(entry.stats[k].values), 100.0, '.1f')} %)"
                for k in ("forget_acc", "retain_acc")]
        score_text = "1"
    else:
        gaps = [signed(entry.stats["forget_gap"]), signed(entry.stats["retain_gap"])]
    settings = "gold" if gold else "no unlearning" if entry.settings == REFERENCE else entry.settings
    return [rank, entry.label, settings, seeds, score_text, *gaps,
            *(_shown(entry, m) for m in board.shown)]


def board_table(board: Board) -> Table:
    """The ranked table of one board, with a numeric twin for the CSV."""
    records = []
    for entry in board.entries:
        record = {"model": board.model, "dataset": board.dataset, "scenario": board.scenario,
                  "forget_sets": "; ".join(board.forget_sets),
                  "forget_metric": board.forget_metric.name, "method": entry.method,
                  "settings": entry.settings, "rank": entry.rank, "seeds": entry.seeds,
                  "failed_cells": entry.failed, "tuned_from": "; ".join(entry.tuned_from)}
        for name, stat in entry.stats.items():
            record |= {f"{name}_mean": stat.mean, f"{name}_ci_low": stat.low,
                       f"{name}_ci_high": stat.high, f"{name}_n": stat.n}
        records.append(record)
    pooled = any(e.timing_setups > 1 for e in board.entries)
    gold = board.gold
    caption = (f"Gold: {gold.label}, the model retrained without the forget set (in parentheses: "
               f"its own accuracies); n = training seeds, mean ± half-width of the 95 % "
               f"Student-t interval over seeds (no interval for n=1). Forget column: "
               f"{board.forget_metric.name}; retain column: {RETAIN}."
               + (" " + POOLED_CAPTION if pooled else ""))
    return Table(f"leaderboard-{board.name}", caption, header(board),
                 [_line(board, e) for e in board.entries], pd.DataFrame(records),
                 title=board.title)


def _with_cost(label: str) -> str:
    """A tuned file's label with what its tuning cost, where the file says (reports.tuned)."""
    cost = tuning_cost(label)
    return f"{label} ({cost})" if cost else label


def _notes(board: Board) -> list[str]:
    tuned = [f"{e.label}: {', '.join(_with_cost(label) for label in e.tuned_from)}"
             for e in board.entries if e.settings == TUNED and e.tuned_from]
    notes = list(board.notes)
    if tuned:
        notes.append("Tuned files: " + "; ".join(tuned) + ".")
    if all(e.seeds <= 1 for e in board.entries if e.settings in (DEFAULT, TUNED)):
        notes.append("n=1: one training seed, no interval; run more seeds (--seeds 0,1,2).")
    return notes


COLUMNS = [
    ("Rank", "the rule above; `gold` and `–` mark the two reference rows, an empty rank the "
             "unranked other entry of a method"),
    ("Settings", "`default`: the preset's settings (with any `--set`); `tuned`: rows run with "
                 "`run --tuned` (their stored spec records `tuned_from`)"),
    ("Seeds", "training seeds with a usable row (n); failed cells are counted, score 0 and are "
              "left out of every other column"),
    ("Score (ToW)", SCORE_TEXT),
    ("... − gold (pp)", "the method's accuracy minus the gold model's in the same cell (model, "
                        "data set, forget set, seed, device), in percentage points; 0 is best; "
                        "a positive forget gap means the method forgets less than retraining"),
    ("MIA entropy", "share of the forgotten training samples a membership attack calls members "
                    "(read it against the gold row)"),
    ("F, KLOM", "the many-model forgetting quality (higher is better) and KLOM (lower is better), "
                "where the rows were run with metrics.population=N"),
    ("Time, Speed-up", "the method's own unlearning wall time and the gold retrain's time "
                       "divided by it (same setup only)"),
]


def markdown(all_boards: list[Board], source: str, figures: dict[str, Path], root: Path) -> str:
    parts = ["# Leaderboard", "", f"From `{source}`, generated "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python -m benchmark "
             "leaderboard`.", "", "## Ranking rule", "", RULE, "", "## Columns", ""]
    parts += [f"- **{name}**: {text}." for name, text in COLUMNS]
    for board in all_boards:
        parts += ["", f"## {board.title}", "", to_markdown(board_table(board)).rstrip()]
        parts += [f"- {note}" for note in _notes(board)]
        if board.name in figures:
            parts += ["", f"![Trade-off: {board.title}]({figures[board.name].relative_to(root).as_posix()})"]
    return "\n".join(parts) + "\n"


def html(all_boards: list[Board], source: str, figures: dict[str, Path], root: Path) -> str:
    sections = []
    for board in all_boards:
        notes = "".join(f"<li>{escape(n)}</li>" for n in _notes(board))
        figure = ""
        if board.name in figures:
            path = figures[board.name]
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            link = escape(path.relative_to(root).as_posix())
            figure = (f'<p class="caption">Trade-off (<a href="{link}">PNG</a>)</p>'
                      f'<img alt="trade-off, {escape(board.title)}" src="data:image/png;base64,{data}">')
        sections.append(f'<h2 id="{escape(board.name)}">{escape(board.title)}</h2>'
                        f'<div class="scroll">{to_html(board_table(board))}</div>'
                        f'<ul class="notes">{notes}</ul>{figure}')
    toc = "".join(f'<li><a href="#{escape(b.name)}">{escape(b.title)}</a></li>' for b in all_boards)
    columns = "".join(f"<li><b>{escape(n)}</b>: {escape(t)}.</li>" for n, t in COLUMNS)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Unlearning leaderboard</title><style>{CSS}</style></head>
<body>
<h1>Unlearning leaderboard</h1>
<p class="caption">From {escape(source)}, generated {now} by <code>python -m benchmark leaderboard</code>.</p>
<ul>{toc}</ul>
<h2 id="rule">Ranking rule</h2><p>{escape(RULE)}</p>
<h2 id="columns">Columns</h2><ul>{columns}</ul>
{"".join(sections)}
</body></html>
"""


def write_leaderboard(frame: pd.DataFrame, source: str, out: Path,
                      all_boards: list[Board] | None = None) -> list[Path]:
    """The files of the leaderboard of a prepared ``frame`` in ``out``; the paths written."""
    all_boards = boards(frame, source) if all_boards is None else all_boards
    out.mkdir(parents=True, exist_ok=True)
    apply_style()
    figures, written = {}, []
    for board in all_boards:
        png, pdf = save_figure(tradeoff_figure(board), out / "figures", f"tradeoff-{board.name}")
        figures[board.name] = png
        written += [png, pdf]
    files = {"leaderboard.md": markdown(all_boards, source, figures, out),
             "leaderboard.html": html(all_boards, source, figures, out)}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    csv = out / "leaderboard.csv"
    pd.concat([board_table(b).numeric for b in all_boards], ignore_index=True).to_csv(
        csv, index=False, float_format="%.6g")
    return [*written, csv]


def build_leaderboard(db: str | Path, out: str | Path, with_boards: bool = False):
    """The leaderboard of results database ``db`` in folder ``out`` (checked before reading):
    the paths written, and the boards too with ``with_boards``."""
    from benchmark.harness.paths import check_output_folder

    out = check_output_folder(out, "--out", {"results database": db})
    frame = load_results(db)
    all_boards = boards(frame, str(db))
    written = write_leaderboard(frame, str(db), out, all_boards)
    return (written, all_boards) if with_boards else written
