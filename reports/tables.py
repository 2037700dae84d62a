"""Tables as Markdown, LaTeX, CSV and HTML, and the paper-layout table.

Tables: ``summary`` (in :mod:`reports.summary`: one row per model, data set, forget set and
method, every headline metric) and ``paper_layout`` here (the UNSIR paper's layout: one row
per setting, columns Dr and Df accuracy for the original model, retrain and each method,
plus their times), both as mean ± 95 % interval over seeds (:mod:`reports.stats`). The text
renderings are written here rather than with ``DataFrame.to_markdown``/``Styler.to_latex``,
which need optional packages (tabulate, jinja2) the suite does not depend on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from benchmark.core.roles import Role
from reports.frame import SETTING_KEYS, methods_of, usable
from reports.stats import MISSING, half_width, mean_ci
from reports.timing import POOLED_CAPTION, pooled_mark


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
    rows, numeric, pooled = [], [], False
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
                mark = pooled_mark(group[values.notna()]) if column == "time_s" else ""
                pooled |= bool(mark)
                line.append(mean_ci(values, scale, fmt) + mark)
                record[f"{method}_{short}_mean"] = values.mean() * scale
                record[f"{method}_{short}_sd"] = values.std() * scale
                record[f"{method}_{short}_ci"] = half_width(values) * scale
        rows.append(line)
        numeric.append(record)
    caption = ("Test accuracy on the retained (Dr) and forgotten (Df) classes before "
               "unlearning (original) and after, with each method's wall time; mean ± half-width "
               "of the 95 % Student-t interval over seeds (no interval for one seed). Retrain "
               "is the gold standard." + (" " + POOLED_CAPTION if pooled else ""))
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
    return text[:1].isdigit() or text.startswith(("-", "+", "<", MISSING, "never", "≥"))


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


__all__ = ["Table", "paper_table", "to_html", "to_latex", "to_markdown"]
