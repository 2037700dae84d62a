"""Reports: a small real results DB -> every figure (PNG + PDF), table and index.html.

The DB is built once per module with the real runner on the synthetic data (two seeds and
two forget-set sizes, so error bars and the forget-count figure have data, and saved
weights so GradCAM runs); a copy without relearn metrics checks the graceful skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.core.errors import UserError
from benchmark.core.training import TrainRecipe
from benchmark.harness.runner import run
from benchmark.harness.spec import MetricOptions, RunSpec
from benchmark.harness.store import ResultStore
from reports.build import build_report
from reports.figures import FIGURES

TABLES = [f"tables/{name}.{ext}" for name in ("summary", "paper_layout")
          for ext in ("md", "tex", "csv")]


@pytest.fixture(scope="module")
def results_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like conftest's tiny_spec (function-scoped, so copied here), two seeds and forget sets."""
    folder = tmp_path_factory.mktemp("reports")
    spec = RunSpec(
        methods=["unsir", "retrain", "finetune"],
        models=["smallcnn"],
        datasets=["synthetic"],
        forget=["3", "0,2"],
        seeds=[0, 1],
        device="cpu",
        results=str(folder / "results.sqlite"),
        cache_dir=str(folder / "cache"),
        train=TrainRecipe(epochs=3, batch_size=64, lr=0.05, augment=False),
        metrics=MetricOptions(relearn=True, relearn_per_class=10, relearn_max_epochs=2),
        method_settings={
            "unsir": {"noise_batch": 16, "noise_steps": 5, "batch_size": 64, "noise_copies": 2},
            "finetune": {"epochs": 1},
        },
        save_models=True,
    )
    run(spec)
    return Path(spec.results)


@pytest.fixture(scope="module")
def report(results_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("report-out")
    return out, build_report(results_db, out)


def test_every_figure_table_and_page_is_written(report: tuple[Path, list[Path]]) -> None:
    out, written = report
    # Every figure but the opt-in ones whose run this fixture does not make (the many-model
    # figure is drawn in tests/test_population_run.py).
    drawn = [f for f in FIGURES if f.only_with is None]
    expected = [out / f"figures/{f.name}.{ext}" for f in drawn for ext in ("png", "pdf")]
    expected += [out / t for t in TABLES] + [out / "index.html"]
    for path in expected:
        assert path.is_file() and path.stat().st_size > 0, f"missing {path}"
    assert sorted(map(Path, written)) == sorted(expected)
    page = (out / "index.html").read_text(encoding="utf-8")
    for figure in drawn:
        assert f"figures/{figure.name}.png" in page
        assert f"figures/{figure.name}.pdf" in page
    assert "data:image/png;base64," in page  # self-contained: figures embedded
    assert "Skipped" not in page and "failed" not in page
    assert "torch" in page and "UNSIR" in page


def test_tables_hold_mean_and_sd_per_method(report: tuple[Path, list[Path]]) -> None:
    out, _ = report
    markdown = (out / "tables/summary.md").read_text(encoding="utf-8")
    assert "±" in markdown  # two seeds: an sd
    assert markdown.count("| smallcnn |") == 2 * 4  # two forget sets x four methods
    latex = (out / "tables/paper_layout.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}" in latex and r"\multicolumn" in latex and r"$\pm$" in latex
    csv = (out / "tables/summary.csv").read_text(encoding="utf-8").splitlines()
    assert "forget_acc_test_mean" in csv[0] and len(csv) == 1 + 8


def test_missing_relearn_metrics_skip_the_relearn_figure(results_db: Path, tmp_path: Path) -> None:
    without = tmp_path / "no-relearn.sqlite"
    with ResultStore(results_db) as source, ResultStore(without) as target:
        for row in source.rows():
            metrics = row["metrics"].items()
            row["metrics"] = {k: v for k, v in metrics if not k.startswith("relearn")}
            target.put(row)
    written = build_report(without, tmp_path / "out")
    names = {Path(p).name for p in written}
    assert "relearn.png" not in names and "accuracy.png" in names
    page = (tmp_path / "out/index.html").read_text(encoding="utf-8")
    assert "relearn: skipped" in page
    assert "Relearn" not in (tmp_path / "out/tables/summary.md").read_text(encoding="utf-8")


def test_missing_and_empty_databases_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no results database"):
        build_report(tmp_path / "absent.sqlite", tmp_path / "out")
    ResultStore(tmp_path / "empty.sqlite").close()
    with pytest.raises(UserError, match="no rows"):
        build_report(tmp_path / "empty.sqlite", tmp_path / "out")


def test_cli_report_passes_paths_and_reports_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import reports.build
    from benchmark.__main__ import main

    calls = []
    # The drawing itself is covered above; here only the CLI wiring (saves a full build).
    monkeypatch.setattr(reports.build, "build_report",
                        lambda db, out: calls.append((db, out)) or [Path(out) / "index.html"])
    assert main(["report", "--db", "some.sqlite", "--out", str(tmp_path / "cli")]) == 0
    assert calls == [("some.sqlite", str(tmp_path / "cli"))]
    assert "wrote 1 files" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(["report", "--db", str(tmp_path / "absent.sqlite")]) == 2
    assert "error: no results database" in capsys.readouterr().err
