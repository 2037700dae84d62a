"""Reports from a results database: seaborn figures, tables and an HTML index.

Entry point: :func:`reports.build.build_report` (``python -m benchmark report``). Modules:
``frame`` (load and label the results), ``identity`` (each method's label, colour and
marker, declared on its class), ``style`` (shared figure look), ``stats`` (95 % intervals,
paired tests), ``forgetting`` (did a method forget), ``timing`` (timing setups), ``fig_*``
and ``gradcam`` (one figure idea each), ``figures`` (the list of figures), ``summary`` and
``tables`` (Markdown/LaTeX/CSV/HTML tables), ``outcomes`` (failed cells, warnings), ``html``
(index.html) and ``build`` (writes it all); the leaderboard (``python -m benchmark
leaderboard``): ``leaderboard`` (boards, gaps to gold, the ranking rule), ``leaderboard_page``
(its files) and ``fig_tradeoff``. docs/REPORTS.md describes what a report shows.
"""

from __future__ import annotations

from pathlib import Path


def build_report(db: str | Path, out: str | Path) -> list[Path]:
    """See :func:`reports.build.build_report`; imported lazily so ``import reports`` stays
    cheap (matplotlib and seaborn load only when a report is built)."""
    from reports.build import build_report as build

    return build(db, out)


def build_leaderboard(db: str | Path, out: str | Path) -> list[Path]:
    """See :func:`reports.leaderboard_page.build_leaderboard` (imported lazily, as above)."""
    from reports.leaderboard_page import build_leaderboard as build

    return build(db, out)


__all__ = ["build_leaderboard", "build_report"]
