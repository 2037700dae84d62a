"""Failed cells and warnings: listed in the tables and on the page, kept out of every statistic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import reports.build
from benchmark.harness.store import ResultStore
from reports.build import build_report, write_report
from reports.figures import FigureDef
from reports.frame import load_results
from reports.summary import summary_table
from tests.test_reports_frame import cell, frame_of, result_row


def failed_row(method: str, seed: int, error: str = "CUDA out of memory") -> dict:
    """A failed cell as the runner stores it; a stray metric value must still be ignored."""
    row = result_row(method, seed)
    row["metrics"] = {"forget_acc_test": 0.9}  # the contract says none; be robust anyway
    row.update(status="failed", error=error + "\nTraceback (most recent call last): ...",
               warnings=[])
    return row


def ok_rows(seeds: range, warned: dict[tuple[str, int], list[str]] | None = None) -> list[dict]:
    rows = [r for seed in seeds for r in cell(seed)]
    for row in rows:
        row.update(status="ok", error=None,
                   warnings=(warned or {}).get((row["method"], row["seed"]), []))
    return rows


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, list[Path]]:
    """Three seeds; UNSIR's seed 2 failed; fine-tune's seed 1 warned (one build, shared)."""
    rows = [r for r in ok_rows(range(3), {("finetune", 1): ["loss was NaN at step 3"]})
            if not (r["method"] == "unsir" and r["seed"] == 2)]
    frame = frame_of(rows + [failed_row("unsir", 2)])
    out = tmp_path_factory.mktemp("mixed")
    return frame, out, write_report(frame, "hand-made", out)


def test_failed_cells_are_excluded_from_the_statistics(
        mixed: tuple[pd.DataFrame, Path, list[Path]]) -> None:
    frame, _, _ = mixed
    table = summary_table(frame)
    unsir = table.numeric.set_index("method").loc["unsir"]
    assert unsir["seeds"] == 2 and unsir["failed_cells"] == 1
    assert unsir["forget_acc_test_mean"] == pytest.approx(0.02)  # the failed row's 0.9 left out
    line = next(r for r in table.rows if r[3].startswith("UNSIR"))
    assert line[4] == "2 (1 failed)"
    assert "1 failed cell(s) are left out" in table.caption


def test_failed_cells_and_warnings_are_listed_in_tables_and_page(
        mixed: tuple[pd.DataFrame, Path, list[Path]]) -> None:
    _, out, written = mixed
    markdown = (out / "tables/summary.md").read_text(encoding="utf-8")
    assert "## Failed cells" in markdown and "## Warnings" in markdown
    failed_line = next(line for line in markdown.splitlines() if "CUDA out of memory" in line)
    assert "| smallcnn | synthetic | 3 | 2 | UNSIR † |" in failed_line
    assert "Traceback" not in markdown  # first line only; the CSV keeps the whole message
    assert "| 1 | Fine-tune | loss was NaN at step 3 |" in markdown
    latex = (out / "tables/summary.tex").read_text(encoding="utf-8")
    assert latex.count(r"\begin{tabular}") == 3 and "CUDA out of memory" in latex
    csv = pd.read_csv(out / "tables/failed_cells.csv")
    assert csv.loc[0, "method"] == "unsir" and "Traceback" in csv.loc[0, "error"]
    assert out / "tables/warnings.csv" in written
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<h2 id="failed_cells">Failed cells</h2>' in page
    assert '<h2 id="warnings">Warnings</h2>' in page and "loss was NaN at step 3" in page
    assert "12 (1 failed: see Failed cells)" in page  # the overview counts rows


def test_figures_receive_only_the_usable_rows(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[pd.DataFrame] = []

    def record(frame: pd.DataFrame, notes: list[str]):
        seen.append(frame)
        raise reports.build.SkipPart("recorded")

    monkeypatch.setattr(reports.build, "FIGURES", (FigureDef("probe", "Probe", "", record),))
    frame = frame_of(ok_rows(range(2)) + [failed_row("unsir", 2)])
    write_report(frame, "hand-made", tmp_path)
    assert len(seen) == 1 and set(seen[0]["status"]) == {"ok"} and len(seen[0]) == 8


def test_a_report_of_only_failed_cells_lists_them_and_skips_figures(tmp_path: Path) -> None:
    frame = frame_of([failed_row("unsir", 0), failed_row("retrain", 0, "disk full")])
    write_report(frame, "hand-made", tmp_path)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "no cell succeeded" in page and "disk full" in page
    assert not list((tmp_path / "figures").glob("*.png"))


def test_old_databases_without_status_columns_read_as_ok(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    with ResultStore(db) as store:  # today's schema: no status, error, warnings, timing_*
        for row in cell(0) + cell(1):
            store.put(row)
    build_report(db, tmp_path / "out")
    frame = load_results(db)
    assert set(frame["status"]) == {"ok"} and frame["warnings"].map(len).sum() == 0
    assert frame["error"].isna().all()
    page = (tmp_path / "out/index.html").read_text(encoding="utf-8")
    assert 'id="failed_cells"' not in page and 'id="warnings"' not in page
    assert "Failed cells" not in page
    assert not (tmp_path / "out/tables/failed_cells.csv").exists()
