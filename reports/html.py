"""index.html: one self-contained page with every figure, table, the provenance and notes.

Figures are embedded as base64 PNG data so the page can be mailed or archived on its own;
each also links to its PNG and PDF files next to the page.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd

from reports.frame import failed
from reports.tables import Table, to_html

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.caption { color: #555; font-size: 0.9em; max-width: 60em; }
.notes li { margin: 0.2em 0; } .skipped { color: #8a4b00; }
.scroll { overflow-x: auto; }
"""


@dataclass
class FigureEntry:
    """A figure for the page: written files, or the reason it was skipped."""

    name: str
    title: str
    caption: str
    png: Path | None = None
    pdf: Path | None = None
    skipped: str | None = None


def _provenance(frame: pd.DataFrame) -> str:
    """One table row per distinct (torch, device, commit, package) combination, with counts."""
    keys = ("torch_version", "device", "git_commit", "package_version", "python_version")
    records = [{k: (p or {}).get(k, "") if isinstance(p, dict) else "" for k in keys}
               for p in frame.get("provenance", pd.Series(dtype=object))]
    if not records:
        return "<p>No provenance recorded.</p>"
    table = pd.DataFrame(records).fillna("").astype(str)
    counts = table.value_counts().reset_index(name="rows")
    head = "".join(f"<th>{escape(k.replace('_', ' '))}</th>" for k in (*keys, "rows"))
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in counts.itertuples(index=False))
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _overview(frame: pd.DataFrame, db: str) -> str:
    created = pd.to_datetime(frame.get("created_at"), errors="coerce", utc=True)
    span = (f"{created.min():%Y-%m-%d %H:%M} to {created.max():%Y-%m-%d %H:%M} UTC"
            if created is not None and created.notna().any() else "unknown")
    n_failed = len(failed(frame))
    items = {
        "Results database": db,
        "Rows": str(len(frame)) + (f" ({n_failed} failed: see Failed cells)" if n_failed else ""),
        "Models / data sets": ", ".join(sorted(frame["combo"].unique())),
        "Forget sets": ", ".join("{" + f + "}" for f in sorted(frame["forget"].unique())),
        "Seeds": ", ".join(str(s) for s in sorted(frame["seed"].unique())),
        "Methods": ", ".join(dict.fromkeys(frame["method_label"])),
        "Runs recorded": span,
    }
    lines = "".join(f"<li><b>{escape(k)}:</b> {escape(v)}</li>" for k, v in items.items())
    return f"<ul>{lines}</ul>"


def _link(path: Path, root: Path, text: str) -> str:
    """A link relative to the page, so the report folder can be moved as a whole."""
    return f'<a href="{escape(path.relative_to(root).as_posix())}">{escape(text)}</a>'


def _figure(entry: FigureEntry, root: Path) -> str:
    title = f'<h2 id="{entry.name}">{escape(entry.title)}</h2>'
    if entry.skipped or entry.png is None:
        return f'{title}<p class="skipped">Skipped: {escape(entry.skipped or "not drawn")}</p>'
    data = base64.b64encode(entry.png.read_bytes()).decode("ascii")
    links = " · ".join(_link(p, root, p.suffix[1:].upper()) for p in (entry.png, entry.pdf) if p)
    return (f'{title}<p class="caption">{escape(entry.caption)} ({links})</p>'
            f'<img alt="{escape(entry.title)}" data-file="{escape(entry.png.name)}" '
            f'src="data:image/png;base64,{data}">')


def render_index(frame: pd.DataFrame, db: str, root: Path, figures: list[FigureEntry],
                 tables: list[tuple[str, str, list[Path]]], notes: list[str],
                 outcomes: Sequence[Table] = ()) -> str:
    """The page as a string; ``tables`` are (title, html, files) triples.

    ``outcomes`` (failed cells, warnings) get sections of their own near the top, where a
    reader sees them before the figures they are missing from.
    """
    toc = "".join(f'<li><a href="#{t.name}">{escape(t.title)}</a></li>' for t in outcomes)
    toc += "".join(f'<li><a href="#{f.name}">{escape(f.title)}</a>'
                  f'{" (skipped)" if f.skipped else ""}</li>' for f in figures)
    toc += "".join(f'<li><a href="#table-{i}">{escape(title)}</a></li>'
                   for i, (title, _, _) in enumerate(tables))
    sections = [_figure(entry, root) for entry in figures]
    for i, (title, body, files) in enumerate(tables):
        links = " · ".join(_link(p, root, p.suffix[1:]) for p in files)
        sections.append(f'<h2 id="table-{i}">{escape(title)}</h2><p>Files: {links}</p>'
                        f'<div class="scroll">{body}</div>')
    note_items = ("".join(f"<li>{escape(n)}</li>" for n in notes)
                  or "<li>None: every part was drawn.</li>")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Unlearning benchmark report</title><style>{CSS}</style></head>
<body>
<h1>Unlearning benchmark report</h1>
<p class="caption">Generated {now} by <code>python -m benchmark report</code>.</p>
{_overview(frame, db)}
<h2>Contents</h2><ul>{toc}<li><a href="#provenance">Provenance</a></li></ul>
<h2 id="notes">Notes and skipped parts</h2><ul class="notes">{note_items}</ul>
{"".join(f'<h2 id="{t.name}">{escape(t.title)}</h2><div class="scroll">{to_html(t)}</div>'
         for t in outcomes)}
{"".join(sections)}
<h2 id="provenance">Provenance</h2>
{_provenance(frame)}
</body></html>
"""
