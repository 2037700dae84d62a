"""Tables that fit any terminal and are never cut in a pipe.

Every cell is kept whole: no ellipsis (``uns…``, ``boundary_shr…``), no name broken across
lines. On a terminal a table prints as a table when it fits the width; when it does not
(an 80-column terminal, many columns), each row folds into one ``header: value`` record,
wrapped at spaces only. Off a terminal (a pipe, a log file), a table prints at its natural
width and no line is wrapped, so ``grep unsir`` finds whole rows; rich's 80-column fallback
cut them.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _lines(cell: object) -> list[str]:
    text = Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)
    return text.splitlines() or [""]


def whole(table: Table) -> Table:
    """``table`` with every column at least as wide as its longest line (nothing folded or cut)."""
    for column in table.columns:
        column.no_wrap = True
        column.overflow = "fold"
        column.min_width = max(len(line) for cell in [column.header, *column._cells]
                               for line in _lines(cell))
    return table


def natural_width(table: Table) -> int:
    """The width ``table`` takes when nothing limits it."""
    probe = Console(width=100_000, file=io.StringIO(), emoji=False)
    return probe.measure(table).maximum


def records(table: Table) -> list[str]:
    """Each row as one ``header: value; header: value`` line (headers on one line)."""
    headers = [" ".join(_lines(c.header)).replace("- ", "-") for c in table.columns]
    rows = zip(*[[" ".join(_lines(cell)) for cell in c._cells] for c in table.columns], strict=True)
    return ["; ".join(f"{h}: {v}" for h, v in zip(headers, row, strict=True) if v.strip())
            for row in rows]


def console_for(table: Table | None = None, stderr: bool = False) -> Console:
    """The console to print on: the terminal's, or one as wide as ``table`` (at least 80)
    whose lines never wrap, off a terminal."""
    console = Console(stderr=stderr, emoji=False)  # names such as subclass:rocket: stay text
    if console.is_terminal:
        return console
    width = max(80, natural_width(table)) if table is not None else 80
    return Console(stderr=stderr, width=width, soft_wrap=True, emoji=False)


def print_table(table: Table, console: Console | None = None) -> Console:
    """Print ``table`` whole (see the module docstring); the console used, for what follows."""
    table = whole(table)
    console = console or console_for(table)
    if not console.is_terminal or natural_width(table) <= console.width:
        console.print(table)
        return console
    if table.title:  # too wide for this terminal: one record a row
        console.print(str(table.title), style="italic", highlight=False)
    for line in records(table):
        console.print(f"- {line}", highlight=False)
    return console
