"""Summary tables (mean ± sd over seeds) as Markdown, LaTeX, CSV and HTML.

Two tables: ``summary`` (one row per model, data set, forget set and method, every headline
metric) and ``paper_layout`` (the UNSIR paper's layout: one row per setting, columns Dr and
Df accuracy for the original model, retrain and each method, plus their times). The text
renderings are written here rather than with ``DataFrame.to_markdown``/``Styler.to_latex``,
which need optional packages (tabulate, jinja2) the suite does not depend on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from benchmark.core.roles import Role
from reports.frame import (
    SETTING_KEYS,
    failed,
    has_metric,
    methods_of,
    relearn_summary,
    sort_methods,
    usable,
)

# (column, header, scale, format): accuracies and rates are shown in percent.
SUMMARY_METRICS = (
    ("forget_acc_test", "Forget acc (%)", 100.0, ".1f"),
    ("retain_acc_test", "Retain acc (%)", 100.0, ".1f"),
    ("test_acc", "Test acc (%)", 100.0, ".1f"),
    ("time_s", "Time (s)", 1.0, "sig"),
    ("speedup_vs_retrain", "Speed-up (×)", 1.0, ".2f"),
    ("mia_entropy_member_rate", "MIA entropy (%)", 100.0, ".1f"),
    ("mia_loss_member_rate", "MIA loss (%)", 100.0, ".1f"),
    ("weight_distance_total", "Weight dist. (L2)", 1.0, "sig"),
)
MISSING = "–"


@dataclass
class Table:
    """A rendered-to-text table plus its numeric twin (for CSV)."""

    name: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    numeric: pd.DataFrame
    # Optional spanning header above ``header``: (label, number of columns) in order.
    groups: list[tuple[str, int]] = field(default_factory=list)
    title: str = ""  # heading when the table is a section of another table's file


def mean_sd(values: pd.Series, scale: float = 1.0, fmt: str = ".1f") -> str:
    """"m ± s" over the non-missing values; just "m" for one value; "–" for none.

    ``fmt="sig"`` gives three significant digits of the mean and the same decimals to the
    sd (times and distances span orders of magnitude; "1.8 ± 0.869" would mislead).
    """
    values = values.dropna() * scale
    if values.empty:
        return MISSING
    if fmt == "sig":
        mean = abs(float(values.mean()))
        digits = 2 - math.floor(math.log10(mean)) if mean > 0 else 0
        fmt = f".{min(max(digits, 0), 4)}f"
    if len(values) == 1 or math.isnan(values.std()):
        return format(values.mean(), fmt)
    return f"{values.mean():{fmt}} ± {values.std():{fmt}}"


def relearn_text(summary: pd.Series) -> str:
    """Relearn epochs with censoring spelled out: never-relearned runs are not averaged."""
    runs, relearned, cap = int(summary["runs"]), int(summary["relearned"]), summary["cap"]
    if relearned == 0:
        return f"never (>{cap:g})"
    text = (f"{summary['mean']:.1f}" if relearned == 1 or math.isnan(summary["sd"])
            else f"{summary['mean']:.1f} ± {summary['sd']:.1f}")
    return text if relearned == runs else f"{text} ({runs - relearned}/{runs} never)"


def summary_table(frame: pd.DataFrame) -> Table:
    """Mean ± sd over seeds per (model, data set, forget set, method).

    ``frame`` holds every row; statistics use the usable ones, and a method whose cells
    failed says so in its Seeds column (e.g. "2 (1 failed)").
    """
    ok = usable(frame)
    failures = failed(frame).groupby([*SETTING_KEYS, "method"]).size()
    metrics = [m for m in SUMMARY_METRICS if has_metric(ok, m[0])]
    relearn = has_metric(ok, "relearn_cap_epochs") and "relearn_epochs" in ok
    header = ["Model", "Data set", "Forget", "Method", "Seeds"] + [m[1] for m in metrics]
    header += ["Relearn (epochs)"] if relearn else []
    rows, numeric = [], []
    ordered = sort_methods(frame.sort_values(["model", "dataset", "n_forget", "forget"]))
    for (model, dataset, forget), cells in ordered.groupby(SETTING_KEYS, sort=False):
        setting = usable(cells)
        summary = relearn_summary(setting) if relearn and not setting.empty else None
        for method, every in cells.groupby("method", sort=False):
            group = usable(every)
            n_failed = int(failures.get((model, dataset, forget, method), 0))
            seeds = str(group["seed"].nunique()) + (f" ({n_failed} failed)" if n_failed else "")
            line = [model, dataset, forget, every["method_label"].iloc[0], seeds]
            record = {"model": model, "dataset": dataset, "forget": forget, "method": method,
                      "zero_glance": bool(every["zero_glance"].all()),
                      "seeds": group["seed"].nunique(), "failed_cells": n_failed}
            for column, _, scale, fmt in metrics:
                line.append(mean_sd(group[column], scale, fmt))
                record[f"{column}_mean"] = group[column].mean()
                record[f"{column}_sd"] = group[column].std()
            if summary is not None and method in summary.index:
                item = summary.loc[method]
                line.append(relearn_text(item))
                record.update({"relearn_epochs_mean": item["mean"], "relearn_epochs_sd": item["sd"],
                               "relearn_never": int(item["runs"] - item["relearned"]),
                               "relearn_cap_epochs": item["cap"]})
            elif relearn:
                line.append(MISSING)  # every seed of this method failed
            rows.append(line)
            numeric.append(record)
    caption = ("Mean ± sd over seeds. Accuracies on the test split; MIA: share of forget-train "
               "samples flagged as members; relearn: epochs until the forget accuracy returns "
               "(never-relearned runs are counted, not averaged). † zero-glance method.")
    if int(failures.sum()):
        caption += (f" {int(failures.sum())} failed cell(s) are left out of the statistics "
                    "and listed under Failed cells.")
    return Table("summary", caption, header, rows, pd.DataFrame(numeric))


def paper_table(frame: pd.DataFrame) -> Table:
    """The UNSIR paper's layout: per setting, Dr/Df accuracy before (original) and after."""
    frame = usable(frame)
    methods = methods_of(frame)
    labels = dict(zip(frame["method"], frame["method_label"], strict=True))
    groups: list[tuple[str, int]] = [("", 3)]
    header = ["Model", "Data set", "Forget"]
    for method in methods:
        before = method == Role.ORIGINAL.value  # trained, not unlearned: no unlearning time
        groups.append((labels[method] + (" (before)" if before else ""), 2 if before else 3))
        header += ["Dr acc (%)", "Df acc (%)"] + ([] if before else ["Time (s)"])
    rows, numeric = [], []
    ordered = frame.sort_values(["model", "dataset", "n_forget", "forget"])
    for (model, dataset, forget), setting in ordered.groupby(SETTING_KEYS, sort=False):
        line = [model, dataset, forget]
        record: dict[str, object] = {"model": model, "dataset": dataset, "forget": forget}
        for method in methods:
            group = setting[setting["method"] == method]
            columns = [("retain_acc_test", "dr", 100.0, ".1f"),
                       ("forget_acc_test", "df", 100.0, ".1f")]
            if method != Role.ORIGINAL.value:
                columns.append(("time_s", "time_s", 1.0, "sig"))
            for column, short, scale, fmt in columns:
                values = group[column] if column in group else pd.Series(dtype=float)
                line.append(mean_sd(values, scale, fmt))
                record[f"{method}_{short}_mean"] = values.mean() * scale
                record[f"{method}_{short}_sd"] = values.std() * scale
        rows.append(line)
        numeric.append(record)
    caption = ("Test accuracy on the retained (Dr) and forgotten (Df) classes before "
               "unlearning (original) and after, with each method's wall time; mean ± sd "
               "over seeds. Retrain is the gold standard.")
    return Table("paper_layout", caption, header, rows, pd.DataFrame(numeric), groups)


def _flat_header(table: Table) -> list[str]:
    """Group label folded into each column name, for formats without spanning headers."""
    if not table.groups:
        return table.header
    names = []
    for label, span in table.groups:
        names += [label] * span
    return [f"{g} {h}".strip() for g, h in zip(names, table.header, strict=True)]


def _numeric_text(text: str) -> bool:
    return text[:1].isdigit() or text.startswith(("-", MISSING, "never", "≥"))


def to_markdown(table: Table) -> str:
    header = _flat_header(table)
    align = ["---:" if table.rows and _numeric_text(table.rows[0][i]) else ":---"
             for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in table.rows]
    return "\n".join(lines) + f"\n\n{table.caption}\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}
_LATEX_UNICODE = {"±": r"$\pm$", "×": r"$\times$", "†": r"\textdagger{}", "–": "--",
                  "≥": r"$\geq$", "Ω": r"$\Omega$"}


def latex_escape(text: str) -> str:
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))
    for char, replacement in _LATEX_UNICODE.items():
        out = out.replace(char, replacement)
    return out


def to_latex(table: Table) -> str:
    """A booktabs tabular inside a table float (needs \\usepackage{booktabs})."""
    spec = "".join("r" if table.rows and _numeric_text(table.rows[0][i]) else "l"
                   for i in range(len(table.header)))
    lines = [r"\begin{table}[ht]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(table.caption)}}}", rf"\label{{tab:{table.name}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    if table.groups:
        cells, rules, start = [], [], 1
        for label, span in table.groups:
            cells.append(rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(label)}}}" if label
                         else " & ".join([""] * span))
            if label:
                rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines += [" & ".join(cells) + r" \\", " ".join(rules)]
    lines.append(" & ".join(latex_escape(h) for h in table.header) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    from html import escape

    parts = ["<table>"]
    if table.groups:
        parts.append("<tr>" + "".join(f'<th colspan="{span}">{escape(label)}</th>'
                                      for label, span in table.groups) + "</tr>")
    parts.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.header) + "</tr>")
    for row in table.rows:
        parts.append("<tr>" + "".join(
            f'<td class="{"num" if _numeric_text(c) else "txt"}">{escape(c)}</td>' for c in row)
            + "</tr>")
    parts.append("</table>")
    parts.append(f'<p class="caption">{escape(table.caption)}</p>')
    return "\n".join(parts)


__all__ = ["Table", "paper_table", "summary_table", "to_html", "to_latex",
           "to_markdown"]
